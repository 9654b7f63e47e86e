"""Admin pages for the two-person rule: open requests, approve, reject, withdraw."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.identity import approvals
from appliance.identity.accounts import AccountError
from appliance.identity.setup_links import url_for_token
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import row_id


def _page(
    request: Request,
    *,
    error: str | None = None,
    setup_link: str | None = None,
) -> Response:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        requests = approvals.pending_requests(db, current_actor(request))
    return render(
        request,
        "admin/approvals.html",
        {
            "requests": requests,
            "two_person": appliance.settings.two_person_access_changes,
            "error": error,
            "setup_link": setup_link,
        },
        status_code=400 if error else 200,
    )


def _request_id(request: Request) -> int:
    return row_id(request.path_params["request_id"])


@allow(Role.ADMIN)
def approvals_page(request: Request) -> Response:
    return _page(request)


@allow(Role.ADMIN)
def approve(request: Request) -> Response:
    appliance = appliance_of(request)
    try:
        with appliance.unit_of_work() as db:
            done = approvals.approve(
                db, appliance.settings, _request_id(request), by=current_actor(request)
            )
    except AccountError as error:
        return _page(request, error=str(error))
    if done.setup_token is not None:
        # Shown to the approver only, once: the admin who asked never holds the link.
        return _page(request, setup_link=url_for_token(appliance.settings, done.setup_token))
    return RedirectResponse("/admin/approvals?done=request_approved", status_code=303)


def _close(request: Request, decide: Callable[..., None], done: str) -> Response:
    """Reject or withdraw: the request closes and nothing changes."""
    try:
        with appliance_of(request).unit_of_work() as db:
            decide(db, _request_id(request), by=current_actor(request))
    except AccountError as error:
        return _page(request, error=str(error))
    return RedirectResponse(f"/admin/approvals?done={done}", status_code=303)


@allow(Role.ADMIN)
def reject(request: Request) -> Response:
    return _close(request, approvals.reject, "request_rejected")


@allow(Role.ADMIN)
def withdraw(request: Request) -> Response:
    return _close(request, approvals.withdraw, "request_withdrawn")

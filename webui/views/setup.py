"""One-time setup links: create the first admin, or choose your own password."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.identity.accounts import AccountError, PasswordRejected
from appliance.identity.passwords import MAX_LENGTH, MIN_LENGTH
from appliance.identity.setup_links import (
    Purpose,
    SetupLink,
    SetupLinkInvalid,
    open_link,
    redeem_link,
)
from appliance.runtime import Appliance
from webui.auth import public
from webui.pages import error_page, render
from webui.views.forms import form_fields


def _open(appliance: Appliance, token: str) -> SetupLink:
    with appliance.unit_of_work() as db:
        return open_link(db, token)


def _redeem(appliance: Appliance, token: str, username: str, password: str) -> None:
    with appliance.unit_of_work() as db:
        redeem_link(db, token, password=password, username=username)


def _page(request: Request, link: SetupLink, status_code: int = 200, **extra: object) -> Response:
    context = {
        "first_admin": link.purpose is Purpose.FIRST_ADMIN,
        "username": link.user.username if link.user else extra.pop("username", ""),
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
        **extra,
    }
    return render(request, "setup.html", context, status_code=status_code)


def _invalid(request: Request, error: SetupLinkInvalid) -> Response:
    return error_page(request, "Link not valid", str(error), 404)


@public
async def setup_form(request: Request) -> Response:
    appliance: Appliance = request.app.state.appliance
    try:
        link = await run_in_threadpool(_open, appliance, request.path_params["token"])
    except SetupLinkInvalid as error:
        return _invalid(request, error)
    return _page(request, link)


@public
async def setup_submit(request: Request) -> Response:
    appliance: Appliance = request.app.state.appliance
    token = request.path_params["token"]
    fields = await form_fields(request, "username", "password", "password_again")
    try:
        link = await run_in_threadpool(_open, appliance, token)
    except SetupLinkInvalid as error:
        return _invalid(request, error)
    if fields["password"] != fields["password_again"]:
        return _page(
            request, link, 400, error="The two passwords differ.", username=fields["username"]
        )
    try:
        await run_in_threadpool(_redeem, appliance, token, fields["username"], fields["password"])
    except SetupLinkInvalid as error:
        return _invalid(request, error)
    except PasswordRejected as rejected:
        return _page(request, link, 400, problems=rejected.problems, username=fields["username"])
    except AccountError as error:
        return _page(request, link, 400, error=str(error), username=fields["username"])
    return RedirectResponse("/login?done=setup_done", status_code=303)

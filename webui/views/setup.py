"""One-time setup links: create the first admin, or choose your own password."""

from __future__ import annotations

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
from webui.auth import public
from webui.pages import error_page, render
from webui.throttle import address_of, throttle_of
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields


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


def _open(request: Request) -> SetupLink:
    with appliance_of(request).unit_of_work() as db:
        return open_link(db, request.path_params["token"])


@public
def setup_form(request: Request) -> Response:
    try:
        link = _open(request)
    except SetupLinkInvalid as error:
        return _invalid(request, error)
    return _page(request, link)


@public
def setup_submit(request: Request) -> Response:
    fields = form_fields(request, "username", "password", "password_again")
    if not throttle_of(request).attempt(address_of(request)):
        return error_page(
            request,
            "Too many attempts",
            "Too many attempts from this address. Wait a few minutes, then use the link again.",
            429,
        )
    try:
        link = _open(request)
    except SetupLinkInvalid as error:
        return _invalid(request, error)
    if fields["password"] != fields["password_again"]:
        return _page(
            request, link, 400, error="The two passwords differ.", username=fields["username"]
        )
    try:
        with appliance_of(request).unit_of_work() as db:
            redeem_link(
                db,
                request.path_params["token"],
                password=fields["password"],
                username=fields["username"],
            )
    except SetupLinkInvalid as error:
        return _invalid(request, error)
    except PasswordRejected as rejected:
        return _page(request, link, 400, problems=rejected.problems, username=fields["username"])
    except AccountError as error:
        return _page(request, link, 400, error=str(error), username=fields["username"])
    return RedirectResponse("/login?done=setup_done", status_code=303)

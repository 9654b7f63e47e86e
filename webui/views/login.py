"""Sign-in, second factor, sign-out and the idle-timer keepalive."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from appliance.identity.accounts import get_user, normalise_username
from appliance.identity.authentication import (
    GENERIC_FAILURE,
    complete_second_factor,
    sign_in_with_password,
    sign_out,
)
from appliance.settings import is_loopback
from webui.auth import (
    EVERYONE,
    allow,
    clear_session_cookie,
    cookie_is_secure,
    public,
    set_session_cookie,
    signed_in_of,
)
from webui.pages import render
from webui.throttle import address_of, throttle_of
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields, safe_next


def _insecure_transport(request: Request) -> bool:
    return not cookie_is_secure(request) and not is_loopback(request.url.hostname)


@public
async def login_form(request: Request) -> Response:
    signed_in = signed_in_of(request)
    if signed_in is not None and not signed_in.second_factor_pending:
        return RedirectResponse("/", status_code=303)
    return render(
        request,
        "login.html",
        {
            "next": safe_next(request.query_params.get("next")),
            "insecure": _insecure_transport(request),
        },
    )


def too_many(request: Request, template: str, context: dict[str, object]) -> Response:
    minutes = throttle_of(request).wait_minutes
    response = render(
        request,
        template,
        {
            **context,
            "error": f"Too many attempts from this address. Wait {minutes} minutes, then try "
            "again, or ask an administrator.",
        },
        status_code=429,
    )
    response.headers["Retry-After"] = str(minutes * 60)
    return response


@public
def login_submit(request: Request) -> Response:
    fields = form_fields(request, "username", "password", "next")
    appliance = appliance_of(request)
    page = {
        "username": fields["username"][:64],
        "next": safe_next(fields["next"]),
        "insecure": _insecure_transport(request),
    }
    address, account = address_of(request), normalise_username(fields["username"])[:64]
    throttle = throttle_of(request)
    # Refused before the password is even checked: a throttled attempt costs no argon2 and
    # counts towards no lockout.
    if not throttle.attempt(address) or not throttle.may_try(address, account):
        return too_many(request, "login.html", page)
    # argon2 first, outside the unit of work: never inside SQLite's write lock.
    result = sign_in_with_password(
        appliance.engine, appliance.settings, fields["username"], fields["password"]
    )
    if not result.ok:
        throttle.failed(address, account)
        return render(request, "login.html", {"error": GENERIC_FAILURE, **page}, status_code=401)
    assert result.token is not None
    target = "/login/mfa" if result.needs_second_factor else safe_next(fields["next"])
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, result.token)
    return response


@allow(*EVERYONE, before_second_factor=True)
async def mfa_form(request: Request) -> Response:
    signed_in = signed_in_of(request)
    assert signed_in is not None
    if not signed_in.second_factor_pending:
        return RedirectResponse("/", status_code=303)
    return render(request, "login_mfa.html")


@allow(*EVERYONE, before_second_factor=True)
def mfa_submit(request: Request) -> Response:
    signed_in = signed_in_of(request)
    assert signed_in is not None
    if not signed_in.second_factor_pending:
        return RedirectResponse("/", status_code=303)
    code = form_fields(request, "code")["code"]
    appliance = appliance_of(request)
    address, account = address_of(request), signed_in.actor.username
    throttle = throttle_of(request)
    if not throttle.attempt(address) or not throttle.may_try(address, account):
        return too_many(request, "login_mfa.html", {})
    with appliance.unit_of_work() as db:
        user = get_user(db, signed_in.actor.user_id)
        token = complete_second_factor(
            db, appliance.settings, appliance.keys, user, request.state.session_token, code
        )
    if token is None:
        throttle.failed(address, account)
        return render(
            request,
            "login_mfa.html",
            {
                "error": "That code did not work. Use the current code from your app, "
                "or one of your recovery codes."
            },
            status_code=401,
        )
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, token)
    return response


@allow(*EVERYONE, before_second_factor=True, during_forced_enrolment=True)
def logout(request: Request) -> Response:
    with appliance_of(request).unit_of_work() as db:
        sign_out(db, request.state.session_token)
    response = RedirectResponse("/login?done=signed_out", status_code=303)
    clear_session_cookie(response)
    return response


@allow(*EVERYONE, before_second_factor=True, during_forced_enrolment=True)
async def keepalive(request: Request) -> Response:
    """The idle warning's "stay signed in"; the session middleware already touched it."""
    signed_in = signed_in_of(request)
    assert signed_in is not None
    return JSONResponse({"seconds_left": signed_in.live.seconds_left})

"""Who is signed in, and the access rule every route must declare.

Each endpoint is wrapped by `public(...)` or `allow(...)`; the wrapper enforces CSRF on state
changes, the sign-in stage (password only / second factor done / enrolment forced) and the
role. A route without a rule is caught by the route-matrix test.

A view is a plain `def view(request) -> Response` (it uses the database, whose driver blocks,
so the wrapper runs it in the threadpool) or an `async def` one that never blocks. Either way
a posted form has already been read by the wrapper (`webui.posted`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance.audit.record import Outcome, record_event
from appliance.identity.accounts import actor_for
from appliance.identity.sessions import LiveSession, resume_session
from appliance.practice.preferences import mfa_required
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from speech_io.upload import UploadInvalid, UploadTooLarge
from webui.csrf import PRESESSION_COOKIE, csrf_ok, ensure_presession
from webui.fault_pages import fault_response
from webui.pages import error_page, forbidden_page, form_expired_page, not_found_page
from webui.posted import FORM_LIMIT, BodyTooLarge, Posted, read_posted

SESSION_COOKIE = "__Host-session"
Endpoint = Callable[[Request], Awaitable[Response]]
SyncView = Callable[[Request], Response]
View = Endpoint | SyncView


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset[Role]
    public: bool = False
    # Reachable after the password but before the second factor (the MFA prompt itself).
    before_second_factor: bool = False
    # Reachable while the MFA policy forces enrolment (the enrolment pages, sign-out).
    during_forced_enrolment: bool = False
    # The most a posted form may carry (webui.posted.FORM_LIMIT unless the route needs more),
    # and whether it takes a multipart upload (a recording, up to max_upload_mb).
    max_body: int = FORM_LIMIT
    uploads: bool = False


@dataclass(frozen=True)
class SignedIn:
    live: LiveSession
    actor: Actor
    must_enrol_mfa: bool

    @property
    def second_factor_pending(self) -> bool:
        return not self.live.session.mfa_passed


def cookie_is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, token: str) -> None:
    # Secure always: `__Host-` cookies are only accepted with it. Browsers treat
    # http://localhost as a secure context, so development works; anywhere else needs TLS.
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, secure=True, samesite="strict", path="/"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, secure=True, samesite="strict", path="/")


# Sent by page scripts that poll on their own (dictation progress): such requests must not
# count as activity, or an open progress page would defeat the automatic logoff.
BACKGROUND_HEADER = "x-background-poll"
# Added by the progress page's script when it loads the page again because the draft is ready
# (?auto=1): nobody asked for that load just then, so it is not activity either.
AUTO_RELOAD_PARAM = "auto"


def _load_signed_in(appliance: Appliance, token: str, touch: bool) -> SignedIn | None:
    with appliance.unit_of_work() as db:
        live = resume_session(db, token, appliance.settings, touch=touch)
        if live is None:
            return None
        must_enrol = not live.user.mfa_enabled and mfa_required(db)
        return SignedIn(live=live, actor=actor_for(live.user), must_enrol_mfa=must_enrol)


class SessionMiddleware:
    """Resolves the session cookie before routing; hands out the pre-session CSRF cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = scope.setdefault("state", {})
        token = request.cookies.get(SESSION_COOKIE)
        appliance: Appliance = scope["app"].state.appliance
        touch = request.headers.get(BACKGROUND_HEADER) != "1" and not (
            request.method == "GET" and request.query_params.get(AUTO_RELOAD_PARAM) == "1"
        )
        try:
            signed_in = (
                await run_in_threadpool(_load_signed_in, appliance, token, touch) if token else None
            )
        except Exception as exc:
            # Who is asking cannot be known without the database: say so, whatever the page.
            state.update(signed_in=None, session_token=None, new_presession=None)
            fault = fault_response(request, exc)
            if fault is None:
                raise
            await fault(scope, receive, send)
            return
        state["signed_in"] = signed_in
        state["session_token"] = token if signed_in else None
        state["new_presession"] = None
        state["stale_session_cookie"] = token is not None and signed_in is None

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if state.get("new_presession"):
                    headers.append(
                        "set-cookie",
                        f"{PRESESSION_COOKIE}={state['new_presession']}; Path=/; Secure; "
                        "HttpOnly; SameSite=Strict",
                    )
                if state.get("stale_session_cookie") and "set-cookie" not in headers:
                    # An ended session's cookie is useless; drop it so the browser stops sending it.
                    headers.append(
                        "set-cookie",
                        f"{SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict",
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def signed_in_of(request: Request) -> SignedIn | None:
    value: SignedIn | None = request.state.signed_in
    return value


def current_actor(request: Request) -> Actor:
    signed_in = signed_in_of(request)
    assert signed_in is not None, "route guard lets only signed-in people reach here"
    return signed_in.actor


def _login_redirect(request: Request) -> Response:
    if request.method != "GET":
        return JSONResponse({"error": "signed out"}, status_code=401)
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _refuse_by_sign_in_and_role(request: Request, rule: AccessRule) -> Response | None:
    signed_in = signed_in_of(request)
    if signed_in is None:
        return _login_redirect(request)
    if signed_in.second_factor_pending and not rule.before_second_factor:
        return RedirectResponse("/login/mfa", status_code=303)
    if (
        signed_in.must_enrol_mfa
        and not signed_in.second_factor_pending
        and not rule.during_forced_enrolment
    ):
        return RedirectResponse("/account/mfa", status_code=303)
    if signed_in.actor.role not in rule.roles:
        record_event(
            "http.route",
            Outcome.DENIED,
            actor_id=signed_in.actor.user_id,
            actor_role=signed_in.actor.role.value,
            reason="role",
        )
        return forbidden_page(request)
    return None


def _awaitable(view: View) -> Endpoint:
    if inspect.iscoroutinefunction(view):
        return view
    sync_view = cast(SyncView, view)

    async def in_threadpool(request: Request) -> Response:
        return await run_in_threadpool(sync_view, request)

    return in_threadpool


async def _refuse_unreadable_or_forged(request: Request, rule: AccessRule) -> Response | None:
    """Reads the posted body (kept on the request for the view) and checks its CSRF token."""
    try:
        posted: Posted | None = await read_posted(
            request, limit=rule.max_body, uploads=rule.uploads
        )
    except UploadTooLarge as exc:
        return error_page(request, "File too large", str(exc), 413)
    except BodyTooLarge as exc:
        return error_page(request, "Form too large", str(exc), 413)
    except UploadInvalid:
        posted = None
    if posted is None or not csrf_ok(request, posted):
        record_event("http.csrf", Outcome.DENIED, reason="bad_csrf_token")
        return form_expired_page(request)
    return None


def _guard(rule: AccessRule) -> Callable[[View], Endpoint]:
    def decorate(view: View) -> Endpoint:
        run = _awaitable(view)

        @functools.wraps(view)
        async def guarded(request: Request) -> Response:
            ensure_presession(request)
            refusal = None if rule.public else _refuse_by_sign_in_and_role(request, rule)
            if refusal is not None:
                return refusal
            if any("\x00" in str(value) for value in request.path_params.values()):
                # An id with NUL in it names nothing, and PostgreSQL refuses it in a query
                # (a 500 on every route with an id, issue 11).
                return not_found_page(request)
            # Checked after who-you-are, so a signed-out or wrong-role request is turned away
            # before its body (perhaps an audio upload) is read at all.
            if request.method not in ("GET", "HEAD"):
                refusal = await _refuse_unreadable_or_forged(request, rule)
                if refusal is not None:
                    return refusal
            return await run(request)

        guarded.access_rule = rule  # type: ignore[attr-defined]
        return guarded

    return decorate


def public(view: View) -> Endpoint:
    return _guard(AccessRule(roles=frozenset(Role), public=True))(view)


def allow(
    *roles: Role,
    before_second_factor: bool = False,
    during_forced_enrolment: bool = False,
    max_body: int = FORM_LIMIT,
    uploads: bool = False,
) -> Callable[[View], Endpoint]:
    return _guard(
        AccessRule(
            roles=frozenset(roles),
            before_second_factor=before_second_factor,
            during_forced_enrolment=during_forced_enrolment,
            max_body=max_body,
            uploads=uploads,
        )
    )


EVERYONE = tuple(Role)

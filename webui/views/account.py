"""Your own account: password change and two-factor enrolment."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.identity.accounts import (
    AccountError,
    PasswordRejected,
    change_own_password,
    get_user,
    set_signature_line,
)
from appliance.identity.mfa import (
    Enrolment,
    begin_enrolment,
    confirm_enrolment,
    pending_enrolment,
    remaining_recovery_codes,
)
from appliance.identity.passwords import MAX_LENGTH, MIN_LENGTH
from appliance.practice.preferences import mfa_required
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from webui.auth import EVERYONE, allow, clear_session_cookie, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields


@dataclass(frozen=True)
class AccountSummary:
    username: str
    role: str
    mfa_enabled: bool
    recovery_codes_left: int
    mfa_required: bool
    pending: Enrolment | None
    signature_line: str | None
    signs_notes: bool


def _summary(appliance: Appliance, actor: Actor) -> AccountSummary:
    with appliance.unit_of_work() as db:
        user = get_user(db, actor.user_id)
        return AccountSummary(
            username=user.username,
            role=user.role,
            mfa_enabled=user.mfa_enabled,
            recovery_codes_left=remaining_recovery_codes(db, user),
            mfa_required=mfa_required(db),
            pending=pending_enrolment(appliance.keys, user),
            signature_line=user.signature_line,
            signs_notes=user.role in (Role.CLINICIAN.value, Role.SUPERVISOR.value),
        )


def _account_page(request: Request, status_code: int = 200, **context: object) -> Response:
    summary = _summary(appliance_of(request), current_actor(request))
    return render(
        request,
        "account.html",
        {"account": summary, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH, **context},
        status_code=status_code,
    )


@allow(*EVERYONE)
def account_page(request: Request) -> Response:
    return _account_page(request)


@allow(Role.CLINICIAN, Role.SUPERVISOR)
def change_signature_line(request: Request) -> Response:
    line = form_fields(request, "signature_line")["signature_line"]
    try:
        with appliance_of(request).unit_of_work() as db:
            set_signature_line(db, current_actor(request), line)
    except AccountError as error:
        return _account_page(request, 400, signature_error=str(error), signature_value=line)
    return RedirectResponse("/account?done=signature_saved", status_code=303)


@allow(*EVERYONE)
def change_password(request: Request) -> Response:
    fields = form_fields(request, "current_password", "new_password", "new_password_again")
    if fields["new_password"] != fields["new_password_again"]:
        return _account_page(request, 400, password_error="The two new passwords differ.")  # noqa: S106
    try:
        with appliance_of(request).unit_of_work() as db:
            changed = change_own_password(
                db, current_actor(request), fields["current_password"], fields["new_password"]
            )
    except PasswordRejected as rejected:
        return _account_page(request, 400, password_problems=rejected.problems)
    if not changed:
        return _account_page(request, 400, password_error="Your current password was not right.")  # noqa: S106
    # Every session of this person ended with the change, this one included.
    response = RedirectResponse("/login?done=password_changed", status_code=303)
    clear_session_cookie(response)
    return response


def _mfa_page(request: Request, status_code: int = 200, **context: object) -> Response:
    summary = _summary(appliance_of(request), current_actor(request))
    return render(request, "mfa_enrol.html", {"account": summary, **context}, status_code)


@allow(*EVERYONE, during_forced_enrolment=True)
def mfa_page(request: Request) -> Response:
    return _mfa_page(request)


@allow(*EVERYONE, during_forced_enrolment=True)
def mfa_start(request: Request) -> Response:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        user = get_user(db, current_actor(request).user_id)
        if not user.mfa_enabled:
            begin_enrolment(db, appliance.keys, user)
    return RedirectResponse("/account/mfa", status_code=303)


@allow(*EVERYONE, during_forced_enrolment=True)
def mfa_confirm(request: Request) -> Response:
    appliance = appliance_of(request)
    code = form_fields(request, "code")["code"]
    with appliance.unit_of_work() as db:
        user = get_user(db, current_actor(request).user_id)
        codes = confirm_enrolment(db, appliance.keys, user, code)
    if codes is None:
        return _mfa_page(
            request,
            400,
            error="That code did not match. Check the time on your "
            "phone and enter the current 6-digit code.",
        )
    # Shown once, on this response only; only their hashes are stored.
    return render(request, "recovery_codes.html", {"codes": codes})

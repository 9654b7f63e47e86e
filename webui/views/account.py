"""Your own account: password change and two-factor enrolment."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.identity.accounts import PasswordRejected, change_own_password, get_user
from appliance.identity.mfa import (
    Enrolment,
    begin_enrolment,
    confirm_enrolment,
    pending_enrolment,
    remaining_recovery_codes,
)
from appliance.identity.passwords import MAX_LENGTH, MIN_LENGTH
from appliance.practice.preferences import mfa_required
from appliance.roles import Actor
from appliance.runtime import Appliance
from webui.auth import EVERYONE, allow, clear_session_cookie, current_actor
from webui.pages import render
from webui.views.forms import form_fields


@dataclass(frozen=True)
class AccountSummary:
    username: str
    role: str
    mfa_enabled: bool
    recovery_codes_left: int
    mfa_required: bool
    pending: Enrolment | None


def _summary(appliance: Appliance, user_id: int) -> AccountSummary:
    with appliance.unit_of_work() as db:
        user = get_user(db, user_id)
        return AccountSummary(
            username=user.username,
            role=user.role,
            mfa_enabled=user.mfa_enabled,
            recovery_codes_left=remaining_recovery_codes(db, user),
            mfa_required=mfa_required(db),
            pending=pending_enrolment(appliance.keys, user),
        )


@allow(*EVERYONE)
async def account_page(request: Request) -> Response:
    summary = await run_in_threadpool(
        _summary, request.app.state.appliance, current_actor(request).user_id
    )
    return render(
        request,
        "account.html",
        {"account": summary, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH},
    )


def _change_password(appliance: Appliance, actor: Actor, current: str, new: str) -> bool:
    with appliance.unit_of_work() as db:
        return change_own_password(db, actor, current, new)


@allow(*EVERYONE)
async def change_password(request: Request) -> Response:
    actor = current_actor(request)
    fields = await form_fields(request, "current_password", "new_password", "new_password_again")
    appliance: Appliance = request.app.state.appliance

    async def again(**context: object) -> Response:
        summary = await run_in_threadpool(_summary, appliance, actor.user_id)
        return render(
            request,
            "account.html",
            {"account": summary, "min_length": MIN_LENGTH, "max_length": MAX_LENGTH, **context},
            status_code=400,
        )

    if fields["new_password"] != fields["new_password_again"]:
        return await again(password_error="The two new passwords differ.")  # noqa: S106
    try:
        changed = await run_in_threadpool(
            _change_password,
            appliance,
            actor,
            fields["current_password"],
            fields["new_password"],
        )
    except PasswordRejected as rejected:
        return await again(password_problems=rejected.problems)
    if not changed:
        return await again(password_error="Your current password was not right.")  # noqa: S106
    # Every session of this person ended with the change, this one included.
    response = RedirectResponse("/login?done=password_changed", status_code=303)
    clear_session_cookie(response)
    return response


@allow(*EVERYONE, during_forced_enrolment=True)
async def mfa_page(request: Request) -> Response:
    summary = await run_in_threadpool(
        _summary, request.app.state.appliance, current_actor(request).user_id
    )
    return render(request, "mfa_enrol.html", {"account": summary})


def _start(appliance: Appliance, user_id: int) -> None:
    with appliance.unit_of_work() as db:
        user = get_user(db, user_id)
        if not user.mfa_enabled:
            begin_enrolment(db, appliance.keys, user)


@allow(*EVERYONE, during_forced_enrolment=True)
async def mfa_start(request: Request) -> Response:
    await run_in_threadpool(_start, request.app.state.appliance, current_actor(request).user_id)
    return RedirectResponse("/account/mfa", status_code=303)


def _confirm(appliance: Appliance, user_id: int, code: str) -> list[str] | None:
    with appliance.unit_of_work() as db:
        return confirm_enrolment(db, appliance.keys, get_user(db, user_id), code)


@allow(*EVERYONE, during_forced_enrolment=True)
async def mfa_confirm(request: Request) -> Response:
    appliance: Appliance = request.app.state.appliance
    actor = current_actor(request)
    fields = await form_fields(request, "code")
    codes = await run_in_threadpool(_confirm, appliance, actor.user_id, fields["code"])
    if codes is None:
        summary = await run_in_threadpool(_summary, appliance, actor.user_id)
        return render(
            request,
            "mfa_enrol.html",
            {
                "account": summary,
                "error": "That code did not match. Check the time on your "
                "phone and enter the current 6-digit code.",
            },
            status_code=400,
        )
    # Shown once, on this response only; only their hashes are stored.
    return render(request, "recovery_codes.html", {"codes": codes})

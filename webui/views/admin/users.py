"""Admin pages for accounts: the list, a new account, one account and what can be done to it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.identity import accounts, sessions
from appliance.identity.accounts import AccountError
from appliance.identity.approvals import Requested, change_supervisor, new_setup_link
from appliance.identity.mfa import reset_mfa
from appliance.identity.setup_links import issue_user_setup_link, url_for_token
from appliance.models import User
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields, row_id


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    role: str
    is_active: bool
    locked: bool
    mfa_enabled: bool
    has_password: bool
    live_sessions: int
    supervisor: str | None
    requires_cosign: bool = False


def _row(user: User, live_sessions: dict[int, int], supervisors: dict[int, str]) -> UserRow:
    assert user.id is not None
    return UserRow(
        id=user.id,
        username=user.username,
        role=user.role,
        is_active=user.is_active,
        locked=accounts.is_locked(user),
        mfa_enabled=user.mfa_enabled,
        has_password=user.password_hash is not None,
        live_sessions=live_sessions.get(user.id, 0),
        supervisor=supervisors.get(user.id),
        requires_cosign=user.requires_cosign,
    )


@allow(Role.ADMIN)
def user_list(request: Request) -> Response:
    with appliance_of(request).unit_of_work() as db:
        live = sessions.live_session_counts(db)
        supervisors = accounts.supervisors_by_clinician(db)
        users = [_row(user, live, supervisors) for user in accounts.list_users(db)]
    return render(request, "admin/users/list.html", {"users": users})


@allow(Role.ADMIN)
async def user_new(request: Request) -> Response:
    return render(request, "admin/users/new.html", {"roles": list(Role), "values": {}})


@allow(Role.ADMIN)
def user_create(request: Request) -> Response:
    fields = form_fields(request, "username", "role")
    appliance = appliance_of(request)
    actor = current_actor(request)
    try:
        with appliance.unit_of_work() as db:
            role = accounts.parse_role(fields["role"])
            user = accounts.create_user(db, fields["username"], role, by=actor)
            token = issue_user_setup_link(db, appliance.settings, user, by=actor)
    except AccountError as error:
        return render(
            request,
            "admin/users/new.html",
            {"roles": list(Role), "values": fields, "error": str(error)},
            status_code=400,
        )
    assert user.id is not None
    return _detail_page(request, user.id, setup_link=url_for_token(appliance.settings, token))


@dataclass(frozen=True)
class UserDetail:
    user: UserRow
    supervisors: list[str]


def _detail_page(
    request: Request, user_id: int, *, setup_link: str | None = None, error: str | None = None
) -> Response:
    with appliance_of(request).unit_of_work() as db:
        user = accounts.user_by_id(db, user_id)
        row = _row(user, sessions.live_session_counts(db), accounts.supervisors_by_clinician(db))
        detail = UserDetail(row, accounts.active_usernames(db, Role.SUPERVISOR))
    return render(
        request,
        "admin/users/detail.html",
        {
            "detail": detail,
            "setup_link": setup_link,
            "error": error,
            "two_person": appliance_of(request).settings.two_person_access_changes,
        },
        status_code=400 if error else 200,
    )


def _user_id(request: Request) -> int:
    return row_id(request.path_params["user_id"])


@allow(Role.ADMIN)
def user_detail(request: Request) -> Response:
    return _detail_page(request, _user_id(request))


AccountAction = Callable[[Request, int], str | None]


class ApprovalRequested(Exception):
    """The action became a request for a second admin (identity.approvals); nothing changed."""


def _account_action(action: AccountAction) -> Callable[[Request], Response]:
    """POST endpoints that act on one account and come back to its page: with what was wrong,
    with a new setup link (the one action that returns something), or with a notice."""

    @functools.wraps(action)
    def endpoint(request: Request) -> Response:
        user_id = _user_id(request)
        try:
            link = action(request, user_id)
        except AccountError as error:
            return _detail_page(request, user_id, error=str(error))
        except ApprovalRequested:
            return RedirectResponse(
                f"/admin/users/{user_id}?done=approval_requested", status_code=303
            )
        if link is not None:
            return _detail_page(request, user_id, setup_link=link)
        return RedirectResponse(f"/admin/users/{user_id}?done=user_updated", status_code=303)

    return endpoint


@allow(Role.ADMIN)
@_account_action
def user_disable(request: Request, user_id: int) -> None:
    with appliance_of(request).unit_of_work() as db:
        accounts.disable_user(db, accounts.user_by_id(db, user_id), by=current_actor(request))


@allow(Role.ADMIN)
@_account_action
def user_enable(request: Request, user_id: int) -> None:
    with appliance_of(request).unit_of_work() as db:
        accounts.enable_user(db, accounts.user_by_id(db, user_id), by=current_actor(request))


@allow(Role.ADMIN)
@_account_action
def user_end_sessions(request: Request, user_id: int) -> None:
    with appliance_of(request).unit_of_work() as db:
        accounts.end_sessions_of(db, accounts.user_by_id(db, user_id), by=current_actor(request))


@allow(Role.ADMIN)
@_account_action
def user_unlock(request: Request, user_id: int) -> None:
    with appliance_of(request).unit_of_work() as db:
        accounts.unlock_user(db, accounts.user_by_id(db, user_id), by=current_actor(request))


@allow(Role.ADMIN)
@_account_action
def user_reset_mfa(request: Request, user_id: int) -> None:
    with appliance_of(request).unit_of_work() as db:
        reset_mfa(db, accounts.user_by_id(db, user_id), by=current_actor(request))


@allow(Role.ADMIN)
@_account_action
def user_setup_link(request: Request, user_id: int) -> str | None:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        user = accounts.user_by_id(db, user_id)
        outcome = new_setup_link(db, appliance.settings, user, by=current_actor(request))
    if isinstance(outcome, Requested):
        raise ApprovalRequested()
    assert outcome.setup_token is not None
    return url_for_token(appliance.settings, outcome.setup_token)


@allow(Role.ADMIN)
@_account_action
def user_set_cosign(request: Request, user_id: int) -> None:
    required = form_fields(request, "requires_cosign")["requires_cosign"] == "yes"
    with appliance_of(request).unit_of_work() as db:
        accounts.set_requires_cosign(
            db, accounts.user_by_id(db, user_id), required, by=current_actor(request)
        )


@allow(Role.ADMIN)
@_account_action
def user_set_supervisor(request: Request, user_id: int) -> None:
    name = form_fields(request, "supervisor")["supervisor"]
    with appliance_of(request).unit_of_work() as db:
        user = accounts.user_by_id(db, user_id)
        supervisor = accounts.find_user(db, name) if name else None
        if name and supervisor is None:
            raise AccountError("No such supervisor.")
        outcome = change_supervisor(
            db, appliance_of(request).settings, user, supervisor, by=current_actor(request)
        )
    if isinstance(outcome, Requested):
        raise ApprovalRequested()

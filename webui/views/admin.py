"""Admin pages: accounts, settings and system status. Nothing here shows PHI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance import __version__, clock
from appliance.identity import accounts
from appliance.identity.accounts import AccountError
from appliance.identity.mfa import reset_mfa
from appliance.identity.setup_links import issue_user_setup_link, url_for_token
from appliance.migrate import current_revision, head_revision
from appliance.models import User, UserSession
from appliance.practice.preferences import (
    mfa_required,
    service_codes,
    set_mfa_required,
    set_service_codes,
    set_transcript_retention_days,
    transcript_retention_days,
)
from appliance.practice.service_codes import MAX_CODE, MAX_CODES, MAX_LABEL, ServiceCodesInvalid
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from webui.auth import allow, current_actor
from webui.pages import not_found_page, render
from webui.views.forms import form_fields
from webui.views.service_codes_form import ROW_FIELDS, padded, rows_from_fields


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


def _live_session_counts(db: Session) -> dict[int, int]:
    now = clock.utcnow()
    rows = db.exec(
        select(UserSession.user_id, func.count())
        .where(col(UserSession.ended_at).is_(None), UserSession.expires_at > now)
        .group_by(col(UserSession.user_id))
    ).all()
    return {user_id: count for user_id, count in rows}


def _row(db: Session, user: User, counts: dict[int, int]) -> UserRow:
    assert user.id is not None
    supervisor = accounts.supervisor_of(db, user.id)
    return UserRow(
        id=user.id,
        username=user.username,
        role=user.role,
        is_active=user.is_active,
        locked=user.locked_until is not None and user.locked_until > clock.utcnow(),
        mfa_enabled=user.mfa_enabled,
        has_password=user.password_hash is not None,
        live_sessions=counts.get(user.id, 0),
        supervisor=supervisor.username if supervisor else None,
    )


def _users(appliance: Appliance) -> list[UserRow]:
    with appliance.unit_of_work() as db:
        counts = _live_session_counts(db)
        return [_row(db, user, counts) for user in accounts.list_users(db)]


@allow(Role.ADMIN)
async def user_list(request: Request) -> Response:
    users = await run_in_threadpool(_users, request.app.state.appliance)
    return render(request, "admin/users.html", {"users": users})


@allow(Role.ADMIN)
async def user_new(request: Request) -> Response:
    return render(request, "admin/user_new.html", {"roles": list(Role), "values": {}})


def _create(appliance: Appliance, actor: Actor, username: str, role: str) -> tuple[int, str]:
    with appliance.unit_of_work() as db:
        user = accounts.create_user(db, username, accounts.parse_role(role), by=actor)
        token = issue_user_setup_link(db, appliance.settings, user, by=actor)
        assert user.id is not None
        return user.id, url_for_token(appliance.settings, token)


@allow(Role.ADMIN)
async def user_create(request: Request) -> Response:
    fields = await form_fields(request, "username", "role")
    appliance: Appliance = request.app.state.appliance
    try:
        user_id, link = await run_in_threadpool(
            _create, appliance, current_actor(request), fields["username"], fields["role"]
        )
    except AccountError as error:
        return render(
            request,
            "admin/user_new.html",
            {"roles": list(Role), "values": fields, "error": str(error)},
            status_code=400,
        )
    return await _detail_response(request, user_id, setup_link=link)


@dataclass(frozen=True)
class UserDetail:
    user: UserRow
    supervisors: list[str]


def _detail(appliance: Appliance, user_id: int) -> UserDetail | None:
    with appliance.unit_of_work() as db:
        user = db.get(User, user_id)
        if user is None:
            return None
        supervisors = [
            u.username
            for u in accounts.list_users(db)
            if u.role == Role.SUPERVISOR.value and u.is_active
        ]
        return UserDetail(_row(db, user, _live_session_counts(db)), supervisors)


async def _detail_response(
    request: Request, user_id: int, *, setup_link: str | None = None, error: str | None = None
) -> Response:
    detail = await run_in_threadpool(_detail, request.app.state.appliance, user_id)
    if detail is None:
        return not_found_page(request)
    return render(
        request,
        "admin/user_detail.html",
        {"detail": detail, "setup_link": setup_link, "error": error},
        status_code=400 if error else 200,
    )


def _user_id(request: Request) -> int | None:
    raw = request.path_params["user_id"]
    return int(raw) if str(raw).isdigit() else None


@allow(Role.ADMIN)
async def user_detail(request: Request) -> Response:
    user_id = _user_id(request)
    if user_id is None:
        return not_found_page(request)
    return await _detail_response(request, user_id)


UserAction = Callable[[Appliance, Session, User, Actor, dict[str, str]], str | None]


def _run_action(
    appliance: Appliance, action: UserAction, user_id: int, actor: Actor, fields: dict[str, str]
) -> tuple[bool, str | None]:
    with appliance.unit_of_work() as db:
        user = db.get(User, user_id)
        if user is None:
            return False, None
        return True, action(appliance, db, user, actor, fields)


def _user_action_endpoint(action: UserAction, *field_names: str) -> Callable[..., object]:
    """POST endpoints that act on one account and come back to its page."""

    @allow(Role.ADMIN)
    async def endpoint(request: Request) -> Response:
        user_id = _user_id(request)
        if user_id is None:
            return not_found_page(request)
        fields = await form_fields(request, *field_names)
        try:
            found, link = await run_in_threadpool(
                _run_action,
                request.app.state.appliance,
                action,
                user_id,
                current_actor(request),
                fields,
            )
        except AccountError as error:
            return await _detail_response(request, user_id, error=str(error))
        if not found:
            return not_found_page(request)
        if link is not None:
            return await _detail_response(request, user_id, setup_link=link)
        return RedirectResponse(f"/admin/users/{user_id}?done=user_updated", status_code=303)

    endpoint.__name__ = action.__name__.lstrip("_")
    return endpoint


def _disable(_a: Appliance, db: Session, user: User, by: Actor, _f: dict[str, str]) -> None:
    accounts.disable_user(db, user, by=by)


def _enable(_a: Appliance, db: Session, user: User, by: Actor, _f: dict[str, str]) -> None:
    accounts.enable_user(db, user, by=by)


def _end_sessions(_a: Appliance, db: Session, user: User, by: Actor, _f: dict[str, str]) -> None:
    accounts.end_sessions_of(db, user, by=by)


def _unlock(_a: Appliance, db: Session, user: User, by: Actor, _f: dict[str, str]) -> None:
    accounts.unlock_user(db, user, by=by)


def _reset_mfa(_a: Appliance, db: Session, user: User, by: Actor, _f: dict[str, str]) -> None:
    reset_mfa(db, user, by=by)


def _new_setup_link(a: Appliance, db: Session, user: User, by: Actor, _f: dict[str, str]) -> str:
    return url_for_token(a.settings, issue_user_setup_link(db, a.settings, user, by=by))


def _set_supervisor(_a: Appliance, db: Session, user: User, by: Actor, f: dict[str, str]) -> None:
    supervisor = accounts.find_user(db, f["supervisor"]) if f["supervisor"] else None
    if f["supervisor"] and supervisor is None:
        raise AccountError("No such supervisor.")
    accounts.assign_supervisor(db, user, supervisor, by=by)


user_disable = _user_action_endpoint(_disable)
user_enable = _user_action_endpoint(_enable)
user_end_sessions = _user_action_endpoint(_end_sessions)
user_unlock = _user_action_endpoint(_unlock)
user_reset_mfa = _user_action_endpoint(_reset_mfa)
user_setup_link = _user_action_endpoint(_new_setup_link)
user_set_supervisor = _user_action_endpoint(_set_supervisor, "supervisor")


@dataclass(frozen=True)
class StoredSettings:
    require_mfa: bool
    retention_days: int | None
    service_codes: dict[str, str]


def _settings(appliance: Appliance) -> StoredSettings:
    with appliance.unit_of_work() as db:
        return StoredSettings(mfa_required(db), transcript_retention_days(db), service_codes(db))


CODE_LIMITS = {"code": MAX_CODE, "label": MAX_LABEL, "codes": MAX_CODES}


async def _settings_response(
    request: Request,
    status_code: int = 200,
    error: str | None = None,
    *,
    code_rows: list[tuple[str, str]] | None = None,
    code_problems: dict[str, str] | None = None,
) -> Response:
    """The page with what is stored, or with the admin's service code rows as sent (on error)."""
    stored = await run_in_threadpool(_settings, request.app.state.appliance)
    rows = list(stored.service_codes.items()) if code_rows is None else code_rows
    return render(
        request,
        "admin/settings.html",
        {
            "require_mfa": stored.require_mfa,
            "retention_days": stored.retention_days,
            "error": error,
            "code_rows": padded(rows),
            "code_problems": code_problems or {},
            "code_limits": CODE_LIMITS,
        },
        status_code=status_code,
    )


@allow(Role.ADMIN)
async def settings_page(request: Request) -> Response:
    return await _settings_response(request)


def _save_settings(
    appliance: Appliance, actor: Actor, require_mfa: bool, retention_days: int | None
) -> None:
    with appliance.unit_of_work() as db:
        set_mfa_required(db, require_mfa, by=actor)
        set_transcript_retention_days(db, retention_days, by=actor)


@allow(Role.ADMIN)
async def settings_save(request: Request) -> Response:
    fields = await form_fields(request, "require_mfa", "retention", "retention_days")
    if fields["retention"] == "days":
        if not fields["retention_days"].strip().isdigit():
            return await _settings_response(request, 400, "Retention: enter a number of days.")
        days: int | None = int(fields["retention_days"])
    else:
        days = None
    try:
        await run_in_threadpool(
            _save_settings,
            request.app.state.appliance,
            current_actor(request),
            fields["require_mfa"] == "on",
            days,
        )
    except ValueError as error:
        return await _settings_response(request, 400, str(error))
    return RedirectResponse("/admin/settings?done=settings_saved", status_code=303)


def _save_service_codes(appliance: Appliance, actor: Actor, rows: list[tuple[str, str]]) -> None:
    with appliance.unit_of_work() as db:
        set_service_codes(db, rows, by=actor)


@allow(Role.ADMIN)
async def service_codes_save(request: Request) -> Response:
    rows = rows_from_fields(await form_fields(request, *ROW_FIELDS))
    try:
        await run_in_threadpool(
            _save_service_codes, request.app.state.appliance, current_actor(request), rows
        )
    except ServiceCodesInvalid as invalid:
        # The rows as typed, each problem next to its field; the stored list is unchanged.
        return await _settings_response(
            request, 400, code_rows=rows, code_problems=invalid.problems
        )
    return RedirectResponse(
        "/admin/settings?done=service_codes_saved#service-codes", status_code=303
    )


@dataclass(frozen=True)
class SystemStatus:
    version: str
    database_backend: str
    schema_revision: str | None
    schema_head: str | None
    users_by_role: dict[str, int]
    live_sessions: int


def _status(appliance: Appliance) -> SystemStatus:
    with appliance.unit_of_work() as db:
        by_role = {role.value: 0 for role in Role}
        for user in accounts.list_users(db):
            if user.is_active:
                by_role[user.role] = by_role.get(user.role, 0) + 1
        live = sum(_live_session_counts(db).values())
    return SystemStatus(
        version=__version__,
        database_backend=appliance.engine.dialect.name,
        schema_revision=current_revision(appliance.engine),
        schema_head=head_revision(),
        users_by_role=by_role,
        live_sessions=live,
    )


@allow(Role.ADMIN)
async def status_page(request: Request) -> Response:
    status = await run_in_threadpool(_status, request.app.state.appliance)
    return render(request, "admin/status.html", {"status": status})

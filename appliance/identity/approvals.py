"""Two-person rule for the access changes that could hand one admin someone's clients.

With the deployment setting `two_person_access_changes` on, an admin who assigns a supervisor or
re-issues a setup link for an existing account only files a request; a second, different admin
approves it, and only then does the change run (by the approver, who also receives the link, so
the requester never holds it). Without the setting the change runs at once, as on a one-admin
practice. Either way it is an access change: counted, alerted on and listed for auditors
(identity.access_changes).

The operator at the shell (`appliance user …`, Ansible) is not held: root on the box already
holds the keys, so a second admin would protect nothing there. Their changes are counted and
listed all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from appliance import clock
from appliance.access import require_role
from appliance.audit.record import Outcome, record_by
from appliance.identity.access_changes import describe_request, usernames
from appliance.identity.accounts import (
    AccountError,
    assign_supervisor,
    check_supervisor_change,
    user_by_id,
)
from appliance.identity.setup_links import reissue_setup_link
from appliance.models import AccessRequest, User
from appliance.roles import Actor, Role
from appliance.settings import Settings

REQUEST_HOURS = 24


class RequestKind(StrEnum):
    SUPERVISOR_ASSIGN = "supervisor_assign"
    SETUP_LINK = "setup_link"


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Requested:
    """The change waits for a second admin: this is the request filed."""

    request_id: int


@dataclass(frozen=True)
class Done:
    """The change ran; `setup_token` is the new link's token when it was one."""

    setup_token: str | None = None


@dataclass(frozen=True)
class RequestView:
    id: int
    description: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    mine: bool


def _file(
    db: Session,
    kind: RequestKind,
    target: User,
    by: Actor,
    supervisor: User | None = None,
) -> Requested:
    assert target.id is not None
    now = clock.utcnow()
    request = AccessRequest(
        kind=kind.value,
        target_id=target.id,
        supervisor_id=supervisor.id if supervisor else None,
        requested_by=by.user_id,
        requested_at=now,
        expires_at=now + timedelta(hours=REQUEST_HOURS),
    )
    db.add(request)
    db.flush()
    assert request.id is not None
    record_by(by, "access.request", object_type="access_request", object_id=request.id)
    return Requested(request.id)


def change_supervisor(
    db: Session, settings: Settings, clinician: User, supervisor: User | None, *, by: Actor
) -> Requested | Done:
    """Assign (or remove) a clinician's supervisor, or file the request for a second admin."""
    require_role(by, Role.ADMIN, action="user.supervisor_assign")
    if not settings.two_person_access_changes:
        assign_supervisor(db, clinician, supervisor, by=by)
        return Done()
    # The same checks as the change itself, so a request that could never run is refused now.
    check_supervisor_change(clinician, supervisor)
    return _file(db, RequestKind.SUPERVISOR_ASSIGN, clinician, by, supervisor)


def new_setup_link(db: Session, settings: Settings, user: User, *, by: Actor) -> Requested | Done:
    """Re-issue a setup link for an existing account, or file the request for a second admin."""
    require_role(by, Role.ADMIN, action="user.setup_link_reissue")
    if not settings.two_person_access_changes:
        return Done(setup_token=reissue_setup_link(db, settings, user, by=by))
    return _file(db, RequestKind.SETUP_LINK, user, by)


def _pending(db: Session, request_id: int, by: Actor, action: str) -> AccessRequest:
    request = db.get(AccessRequest, request_id)
    if request is None or request.decision is not None:
        record_by(by, action, Outcome.DENIED, object_type="access_request", object_id=request_id)
        raise AccountError("This request was already decided or withdrawn.")
    if request.expires_at <= clock.utcnow():
        record_by(
            by,
            action,
            Outcome.DENIED,
            object_type="access_request",
            object_id=request_id,
            reason="expired",
        )
        raise AccountError("This request has expired: the admin who made it can make it again.")
    return request


def _decide(db: Session, request: AccessRequest, decision: Decision, by: Actor) -> None:
    request.decision = decision.value
    request.decided_by = by.user_id
    request.decided_at = clock.utcnow()
    db.add(request)


def approve(db: Session, settings: Settings, request_id: int, *, by: Actor) -> Done:
    """Run the requested change as the approving admin. Never by the admin who asked."""
    require_role(by, Role.ADMIN, action="access.approve")
    request = _pending(db, request_id, by, "access.approve")
    if request.requested_by == by.user_id:
        record_by(
            by,
            "access.approve",
            Outcome.DENIED,
            object_type="access_request",
            object_id=request_id,
            reason="own_request",
        )
        raise AccountError("A second administrator must approve this: not the one who asked.")
    target = user_by_id(db, request.target_id)
    _decide(db, request, Decision.APPROVED, by)
    record_by(by, "access.approve", object_type="access_request", object_id=request_id)
    if request.kind == RequestKind.SETUP_LINK.value:
        return Done(setup_token=reissue_setup_link(db, settings, target, by=by))
    supervisor = user_by_id(db, request.supervisor_id) if request.supervisor_id else None
    assign_supervisor(db, target, supervisor, by=by)
    return Done()


def reject(db: Session, request_id: int, *, by: Actor) -> None:
    require_role(by, Role.ADMIN, action="access.reject")
    request = _pending(db, request_id, by, "access.reject")
    if request.requested_by == by.user_id:
        raise AccountError("To cancel your own request, withdraw it.")
    _decide(db, request, Decision.REJECTED, by)
    record_by(by, "access.reject", object_type="access_request", object_id=request_id)


def withdraw(db: Session, request_id: int, *, by: Actor) -> None:
    require_role(by, Role.ADMIN, action="access.withdraw")
    request = _pending(db, request_id, by, "access.withdraw")
    if request.requested_by != by.user_id:
        record_by(
            by,
            "access.withdraw",
            Outcome.DENIED,
            object_type="access_request",
            object_id=request_id,
            reason="not_requester",
        )
        raise AccountError("Only the admin who asked can withdraw a request; reject it instead.")
    _decide(db, request, Decision.WITHDRAWN, by)
    record_by(by, "access.withdraw", object_type="access_request", object_id=request_id)


def pending_requests(db: Session, by: Actor) -> list[RequestView]:
    """Open requests, oldest first; expired ones drop off (their admin can ask again)."""
    require_role(by, Role.ADMIN, action="access.list")
    names = usernames(db)
    rows = db.exec(
        select(AccessRequest)
        .where(col(AccessRequest.decision).is_(None), AccessRequest.expires_at > clock.utcnow())
        .order_by(col(AccessRequest.id))
    ).all()
    return [
        RequestView(
            id=row.id,
            description=describe_request(row, names),
            requested_by=names.get(row.requested_by, "?"),
            requested_at=row.requested_at,
            expires_at=row.expires_at,
            mine=row.requested_by == by.user_id,
        )
        for row in rows
        if row.id is not None
    ]

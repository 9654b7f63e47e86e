"""Privileged access changes: the admin actions that can open a path to someone's clients.

An admin never reads PHI, but some of their actions decide who can: a new account, a supervisor
assignment (the supervisor reads the clinician's notes), a second-factor reset or a setup link
re-issued for an existing account (whoever redeems it signs in as that person), an emergency
grant. Each is already an audit event; this module names them, so they can be counted
(identity.access_change_metrics, alerted on), listed for auditors (the Access changes page), and,
where the deployment asks for it, held for a second admin (identity.approvals).

The list is read from the audit trail itself rather than kept in a table of its own: the
trail is the tamper-evident record, it holds the changes made at the shell (`appliance user …`,
Ansible) as well as the web's, and a second copy could disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from appliance.access import require_role
from appliance.audit.record import record_by
from appliance.models import AccessRequest, AuditEvent, EmergencyAccessGrant, User
from appliance.numbers import whole_number
from appliance.roles import Actor, Role

# action code -> the metric's `change` label. Order is the page's legend order.
ACCESS_CHANGES: dict[str, str] = {
    "user.create": "account_created",
    "user.supervisor_assign": "supervisor_assigned",
    "user.mfa_reset": "mfa_reset",
    "user.setup_link_reissue": "setup_link_reissued",
    "emergency.grant": "emergency_access_granted",
}

# The two-person workflow's own events, listed beside the changes they lead to.
APPROVAL_ACTIONS = ("access.request", "access.approve", "access.reject", "access.withdraw")

DESCRIPTIONS: dict[str, str] = {
    "user.create": "Account created",
    "user.supervisor_assign": "Supervisor assigned",
    "user.mfa_reset": "Two-factor reset",
    "user.setup_link_reissue": "Setup link re-issued",
    "emergency.grant": "Emergency access granted",
    "access.request": "Approval requested",
    "access.approve": "Request approved",
    "access.reject": "Request rejected",
    "access.withdraw": "Request withdrawn",
}

PAGE_SIZE = 50


@dataclass(frozen=True)
class AccessChangeRow:
    seq: int
    at: datetime
    action: str
    description: str
    outcome: str
    actor: str
    target: str
    source_ip: str | None


@dataclass(frozen=True)
class AccessChangePage:
    rows: list[AccessChangeRow]
    page: int
    pages: int
    total: int


def usernames(db: Session) -> dict[int, str]:
    rows = db.exec(select(User.id, User.username)).all()
    return {user_id: name for user_id, name in rows if user_id is not None}


def _as_int(object_id: str | None) -> int | None:
    return whole_number(object_id) if object_id else None


def _target(db: Session, event: AuditEvent, names: dict[int, str]) -> str:
    """Who the change was about, by account name: ids only in the trail, names on the page."""
    object_id = _as_int(event.object_id)
    if object_id is None:
        return "—"
    if event.object_type == "user":
        user = db.get(User, object_id)
        return f"{user.username} ({user.role})" if user else f"account #{object_id}"
    if event.object_type == "emergency_grant":
        grant = db.get(EmergencyAccessGrant, object_id)
        if grant is None:
            return f"grant #{object_id}"
        grantee = names.get(grant.grantee_id, "?")
        owner = names.get(grant.owner_id, "?")
        return f"{grantee} may read {owner}'s clients"
    if event.object_type == "access_request":
        request = db.get(AccessRequest, object_id)
        if request is None:
            return f"request #{object_id}"
        return f"#{object_id}: {describe_request(request, names)}"
    return f"{event.object_type} #{object_id}"


def describe_request(request: AccessRequest, names: dict[int, str]) -> str:
    target = names.get(request.target_id, "?")
    if request.kind == "supervisor_assign":
        supervisor = names.get(request.supervisor_id, "?") if request.supervisor_id else None
        return (
            f"{supervisor} to supervise {target}" if supervisor else f"remove {target}'s supervisor"
        )
    return f"new setup link for {target}"


def list_access_changes(db: Session, by: Actor, page: int = 1) -> AccessChangePage:
    """Newest first, every outcome: a refused attempt (an admin approving their own request)
    is as interesting to an auditor as a change that went through."""
    require_role(by, Role.AUDITOR, action="audit.access_changes_read")
    actions = [*ACCESS_CHANGES, *APPROVAL_ACTIONS]
    total = db.exec(
        select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action).in_(actions))
    ).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    events = db.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).in_(actions))
        .order_by(col(AuditEvent.seq).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    names = usernames(db)
    rows = [
        AccessChangeRow(
            seq=event.seq,
            at=event.at,
            action=event.action,
            description=DESCRIPTIONS.get(event.action, event.action),
            outcome=event.outcome,
            actor=(
                names.get(event.actor_id, f"#{event.actor_id}")
                if event.actor_id is not None
                else "operator at the shell"
            ),
            target=_target(db, event, names),
            source_ip=event.source_ip,
        )
        for event in events
    ]
    record_by(by, "audit.access_changes_read")
    return AccessChangePage(rows=rows, page=page, pages=pages, total=total)

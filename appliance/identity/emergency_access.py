"""HIPAA emergency access procedure (45 CFR 164.312(a)(2)(ii)).

An admin grants a named clinician time-limited, read-only access to another clinician's clients,
with a written reason. The grant and every use are audited, counted in metrics (alerted on),
and listed for auditors. Admins never see the clients themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from appliance import clock, metrics
from appliance.access import require_role
from appliance.audit.record import allowed_reads_are_recorded, record_by
from appliance.crypto.envelope import new_record_key, open_record_keys, seal, unseal
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import AccountError
from appliance.models import EmergencyAccessGrant, User
from appliance.roles import Actor, Role

MIN_REASON = 10
MAX_REASON = 500
MAX_HOURS = 72


@dataclass(frozen=True)
class GrantView:
    id: int
    grantee: str
    owner: str
    granted_by: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        now = clock.utcnow()
        return self.revoked_at is None and self.starts_at <= now < self.ends_at


TABLE = "emergency_access_grants"


def grant_access(
    db: Session,
    keys: Keys,
    by: Actor,
    *,
    grantee: User,
    owner: User,
    reason: str,
    hours: int,
) -> EmergencyAccessGrant:
    require_role(by, Role.ADMIN, action="emergency.grant")
    reason = " ".join(reason.split())
    if grantee.role != Role.CLINICIAN.value or owner.role != Role.CLINICIAN.value:
        raise AccountError("Emergency access is from one clinician to another clinician's clients.")
    if grantee.id == owner.id:
        raise AccountError("Choose two different clinicians.")
    if not grantee.is_active:
        raise AccountError(f"{grantee.username} is disabled.")
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise AccountError(f"Give the reason in {MIN_REASON} to {MAX_REASON} characters.")
    if not 1 <= hours <= MAX_HOURS:
        raise AccountError(f"Access lasts 1 to {MAX_HOURS} hours.")
    assert grantee.id is not None and owner.id is not None
    now = clock.utcnow()
    key = new_record_key(db, keys.keks, "emergency_grant")
    grant = EmergencyAccessGrant(
        grantee_id=grantee.id,
        owner_id=owner.id,
        granted_by=by.user_id,
        data_key_id=key.id,
        reason_sealed=b"",
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
    )
    db.add(grant)
    db.flush()  # the row id goes into the seal's associated data
    grant.reason_sealed = seal(key, TABLE, str(grant.id), "reason", reason)
    db.add(grant)
    metrics.EMERGENCY_ACCESS.labels("grant").inc()
    record_by(by, "emergency.grant", object_type="emergency_grant", object_id=grant.id)
    return grant


def revoke_access(db: Session, by: Actor, grant_id: int) -> None:
    require_role(by, Role.ADMIN, action="emergency.revoke")
    grant = db.get(EmergencyAccessGrant, grant_id)
    if grant is None:
        raise AccountError("No such grant.")
    if grant.revoked_at is None:
        grant.revoked_at = clock.utcnow()
        db.add(grant)
        record_by(by, "emergency.revoke", object_type="emergency_grant", object_id=grant.id)


def active_grants(db: Session, grantee_id: int) -> dict[int, int]:
    """owner id -> grant id, for the grants this clinician may use right now."""
    now = clock.utcnow()
    rows = db.exec(
        select(EmergencyAccessGrant).where(
            EmergencyAccessGrant.grantee_id == grantee_id,
            col(EmergencyAccessGrant.revoked_at).is_(None),
            EmergencyAccessGrant.starts_at <= now,
            EmergencyAccessGrant.ends_at > now,
        )
    ).all()
    return {row.owner_id: row.id for row in rows if row.id is not None}


def record_use(actor: Actor, grant_id: int, action: str, client_id: str | None) -> None:
    # A page's own repeat of an access check (the progress poll) is neither recorded nor a use:
    # counted, a grantee's open dictation page alone would fire the alert every 2 s.
    if allowed_reads_are_recorded():
        metrics.EMERGENCY_ACCESS.labels("use").inc()
    record_by(
        actor,
        action,
        object_type="client",
        object_id=client_id,
        reason=f"emergency_grant:{grant_id}",
    )


def list_grants(db: Session, keys: Keys, by: Actor) -> list[GrantView]:
    """Every grant, newest first: admins manage them, auditors review them."""
    require_role(by, Role.ADMIN, Role.AUDITOR, action="emergency.list")
    names = {u.id: u.username for u in db.exec(select(User))}
    rows = db.exec(select(EmergencyAccessGrant).order_by(col(EmergencyAccessGrant.id).desc())).all()
    opened = open_record_keys(db, keys.keks, sorted({row.data_key_id for row in rows}))
    return [
        GrantView(
            id=row.id or 0,
            grantee=names.get(row.grantee_id, "?"),
            owner=names.get(row.owner_id, "?"),
            granted_by=names.get(row.granted_by, "?"),
            reason=unseal(opened[row.data_key_id], TABLE, str(row.id), "reason", row.reason_sealed),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]

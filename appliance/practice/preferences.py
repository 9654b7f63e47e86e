"""Settings an admin changes from the web UI, kept in the database (audited on change)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from appliance import clock
from appliance.access import require_role
from appliance.audit.record import record_by
from appliance.models import SystemSetting
from appliance.practice import service_codes as codes
from appliance.roles import Actor, Role

REQUIRE_MFA = "require_mfa"


def _get(db: Session, key: str) -> str | None:
    row = db.get(SystemSetting, key)
    return row.value if row else None


def _set(db: Session, key: str, value: str, by: Actor) -> None:
    row = db.get(SystemSetting, key) or SystemSetting(
        key=key, value=value, updated_at=clock.utcnow()
    )
    row.value = value
    row.updated_at = clock.utcnow()
    row.updated_by = by.user_id
    db.add(row)
    record_by(by, "settings.change", object_type="setting", object_id=key)


def mfa_required(db: Session) -> bool:
    return _get(db, REQUIRE_MFA) == "true"


def set_mfa_required(db: Session, required: bool, *, by: Actor) -> None:
    require_role(by, Role.ADMIN, action="settings.change")
    _set(db, REQUIRE_MFA, "true" if required else "false", by)


TRANSCRIPT_RETENTION_DAYS = "transcript_retention_days"
MAX_RETENTION_DAYS = 3650


def transcript_retention_days(db: Session) -> int | None:
    """Days a transcript is kept; None means until its note is signed (the default)."""
    value = _get(db, TRANSCRIPT_RETENTION_DAYS)
    return int(value) if value else None


def set_transcript_retention_days(db: Session, days: int | None, *, by: Actor) -> None:
    require_role(by, Role.ADMIN, action="settings.change")
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(f"Keep transcripts 1 to {MAX_RETENTION_DAYS} days, or until signed.")
    _set(db, TRANSCRIPT_RETENTION_DAYS, "" if days is None else str(days), by)


SERVICE_CODES = "service_codes"


def service_codes(db: Session) -> dict[str, str]:
    """The practice's service codes, code -> label, in the admin's order (the CPT six if unset)."""
    value = _get(db, SERVICE_CODES)
    return codes.from_json(value) if value else dict(codes.DEFAULT_SERVICE_CODES)


def set_service_codes(db: Session, rows: Sequence[tuple[str, str]], *, by: Actor) -> None:
    """Replace the list with the admin's rows; raises ServiceCodesInvalid and stores nothing.

    Dictations already submitted keep their code: it is stored with each one, not looked up.
    """
    require_role(by, Role.ADMIN, action="settings.change")
    _set(db, SERVICE_CODES, codes.to_json(codes.parse_service_codes(rows)), by)


NOTE_DUE_DAYS = "note_due_days"
DEFAULT_NOTE_DUE_DAYS = 3
MAX_NOTE_DUE_DAYS = 60


def note_due_days(db: Session) -> int:
    """Days after the session within which its note should be signed: later signatures are
    marked "Late entry", and unsigned notes older than this are listed as overdue."""
    value = _get(db, NOTE_DUE_DAYS)
    return int(value) if value else DEFAULT_NOTE_DUE_DAYS


def set_note_due_days(db: Session, days: int, *, by: Actor) -> None:
    require_role(by, Role.ADMIN, action="settings.change")
    if not 1 <= days <= MAX_NOTE_DUE_DAYS:
        raise ValueError(f"Notes are due 1 to {MAX_NOTE_DUE_DAYS} days after the session.")
    _set(db, NOTE_DUE_DAYS, str(days), by)

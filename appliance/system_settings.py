"""Settings an admin changes from the web UI, kept in the database (audited on change)."""

from __future__ import annotations

from sqlmodel import Session

from appliance import clock
from appliance.access import Actor, require_role
from appliance.audit import record_by
from appliance.models import SystemSetting
from appliance.roles import Role

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

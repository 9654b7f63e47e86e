"""Which KEKs this database depends on, checked against the key files at every start."""

from __future__ import annotations

from sqlmodel import Session, col, select

from appliance import clock
from appliance.crypto.keyring import KeyRing
from appliance.models import DataKey, KeyEncryptionKey


class KeyMismatch(Exception):
    """The key files do not belong to this database; starting would write unreadable data."""


def register(db: Session, kid: str) -> None:
    if db.get(KeyEncryptionKey, kid) is None:
        db.add(KeyEncryptionKey(kid=kid, created_at=clock.utcnow()))
        db.flush()


def check_key_files_match(db: Session, keks: KeyRing) -> None:
    """Refuse to run with a KEK this database never knew, or without one it needs."""
    known = set(db.exec(select(KeyEncryptionKey.kid)).all())
    if not known:
        # First start after `init` (or after an upgrade from before encryption existed).
        for kid in sorted(keks.ids):
            register(db, kid)
        return
    if keks.active_id not in known:
        raise KeyMismatch(
            f"the KEK file (key id {keks.active_id}) does not belong to this database "
            f"(it knows {', '.join(sorted(known))}); restore the right key file"
        )
    needed = set(
        db.exec(select(DataKey.kid).where(col(DataKey.wrapped).is_not(None)).distinct()).all()
    )
    missing = needed - keks.ids
    if missing:
        raise KeyMismatch(
            f"data keys are wrapped by KEK {', '.join(sorted(missing))}, whose file is not "
            "loaded; if a key rotation was interrupted, keep its .next file and re-run it"
        )

"""Re-authentication for acts that need the person, not just their session: signing a note,
co-signing, deleting a client.

The password, and the second factor when the person has enrolled one, are checked again.
Failures count towards the same lockout as sign-in, under the same rules
(appliance.identity.authentication): one attempt at a time per account, counted atomically, and
the count reset only when every factor passed. An account locked here is signed out everywhere,
since whoever is guessing is at a workstation that is already signed in.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session

from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import end_all_sessions, is_locked
from appliance.identity.authentication import (
    PasswordCheck,
    count_failure,
    lock_for_attempt,
    signed_in_fully,
)
from appliance.identity.mfa import verify_second_factor
from appliance.identity.passwords import verify_password
from appliance.models import User
from appliance.settings import Settings


class ReauthFailure(StrEnum):
    """Also the audit event's reason."""

    BAD_PASSWORD = "bad_password"  # noqa: S105 (a reason code, not a password)
    BAD_CODE = "bad_code"
    LOCKED = "locked"

    @property
    def message(self) -> str:
        return {
            ReauthFailure.BAD_PASSWORD: "The password is not right. Nothing was signed.",
            ReauthFailure.BAD_CODE: (
                "The authenticator or recovery code is not right (each code works once). "
                "Nothing was signed."
            ),
            ReauthFailure.LOCKED: (
                "Your account is locked after repeated failures. Nothing was signed; an admin "
                "can unlock it, or wait and sign in again."
            ),
        }[self]


def reauthenticate(
    db: Session,
    settings: Settings,
    keys: Keys,
    user: User,
    password: str | PasswordCheck,
    code: str,
) -> ReauthFailure | None:
    """None when the person proved who they are; the failure otherwise (already counted).

    `password`: from a request handler, checked before the unit of work (check_own_password),
    so argon2 never runs inside SQLite's write lock; as text, it is hashed here (scripts, tests).
    The caller must commit either way: a failure's count has to persist."""
    if isinstance(password, PasswordCheck):
        if password.user_id != user.id:
            raise ValueError("a password check made for another account")
        checked_hash, password_ok = password.checked_hash, password.ok
    else:
        checked_hash = user.password_hash
        password_ok = checked_hash is not None and verify_password(password, checked_hash)
    # Locked after the slow hash, as at sign-in; the lock and the count are then read fresh.
    lock_for_attempt(db, user)
    if is_locked(user):
        return ReauthFailure.LOCKED
    if user.password_hash != checked_hash:
        password_ok = False  # changed while hashing: the verdict was on the old one
    if not password_ok:
        failure = ReauthFailure.BAD_PASSWORD
    elif user.mfa_enabled and verify_second_factor(db, keys, user, code.strip()) is None:
        failure = ReauthFailure.BAD_CODE
    else:
        signed_in_fully(db, user)
        return None
    if count_failure(db, settings, user):
        end_all_sessions(db, user.id, reason="locked")
        return ReauthFailure.LOCKED
    return failure

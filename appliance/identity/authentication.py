"""Sign-in: password check, lockout after repeated failures, and the second factor.

Every failure looks the same to the person signing in (unknown user, wrong password, locked,
disabled): the message must never confirm that a username exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from appliance import clock, metrics
from appliance.audit.record import Outcome, record_by, record_event
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import actor_for, end_all_sessions, find_user, is_locked
from appliance.identity.mfa import verify_second_factor
from appliance.identity.passwords import burn_verification_time, verify_password
from appliance.identity.sessions import end_session, start_session
from appliance.models import User
from appliance.settings import Settings

GENERIC_FAILURE = (
    "Sign-in failed. Check your username and password. After repeated failures an account "
    "is locked for a while."
)


@dataclass(frozen=True)
class SignInResult:
    token: str | None
    user: User | None
    needs_second_factor: bool = False

    @property
    def ok(self) -> bool:
        return self.token is not None


FAILED = SignInResult(token=None, user=None)


def _fail(user: User | None, reason: str) -> SignInResult:
    metrics.LOGIN_FAILURES.inc()
    record_event(
        "auth.login",
        Outcome.FAILED,
        actor_id=user.id if user else None,
        actor_role=user.role if user else None,
        reason=reason,
    )
    return FAILED


def count_failure(db: Session, settings: Settings, user: User) -> bool:
    """Count one failed attempt; lock the account when the threshold is reached (True)."""
    user.failed_logins += 1
    locked = user.failed_logins >= settings.lockout_threshold
    if locked:
        user.failed_logins = 0
        user.locked_until = clock.utcnow() + timedelta(minutes=settings.lockout_minutes)
        metrics.ACCOUNT_LOCKOUTS.inc()
        record_by(actor_for(user), "auth.lockout", object_type="user", object_id=user.id)
    db.add(user)
    return locked


def sign_in(db: Session, settings: Settings, username: str, password: str) -> SignInResult:
    user = find_user(db, username)
    if user is None or user.password_hash is None:
        burn_verification_time(password)
        return _fail(user, "unknown_user" if user is None else "not_set_up")
    password_ok = verify_password(password, user.password_hash)
    if is_locked(user):
        return _fail(user, "locked")
    if not user.is_active:
        return _fail(user, "disabled")
    if not password_ok:
        count_failure(db, settings, user)
        return _fail(user, "bad_password")
    user.failed_logins = 0
    user.locked_until = None
    db.add(user)
    token = start_session(db, user, settings, mfa_passed=not user.mfa_enabled)
    record_by(
        actor_for(user),
        "auth.login",
        reason="password_ok_mfa_pending" if user.mfa_enabled else None,
    )
    return SignInResult(token=token, user=user, needs_second_factor=user.mfa_enabled)


def complete_second_factor(
    db: Session, settings: Settings, keys: Keys, user: User, partial_token: str, code: str
) -> str | None:
    """Check a TOTP or recovery code; on success swap the half-signed-in session for a full one.

    A fresh token on privilege change keeps a token seen before MFA from ever becoming full.
    Wrong codes count towards the same lockout as wrong passwords.
    """
    if is_locked(user):
        _fail(user, "locked")
        return None
    method = verify_second_factor(db, keys, user, code)
    if method is None:
        if count_failure(db, settings, user):
            end_session(db, partial_token, "locked")
        record_by(actor_for(user), "auth.mfa", Outcome.FAILED, reason="bad_code")
        metrics.LOGIN_FAILURES.inc()
        return None
    user.failed_logins = 0
    db.add(user)
    end_session(db, partial_token, "mfa_upgrade")
    record_by(actor_for(user), "auth.mfa", reason=method)
    return start_session(db, user, settings, mfa_passed=True)


def sign_out(db: Session, token: str) -> None:
    """Sign out everywhere: on shared clinic workstations a session left open elsewhere is the
    likeliest leak, and signing out at your own desk should close it too."""
    ended = end_session(db, token, "logout")
    if ended is not None:
        others = end_all_sessions(db, ended.user_id, reason="logout_elsewhere")
        record_event(
            "auth.logout",
            Outcome.ALLOWED,
            actor_id=ended.user_id,
            reason="with_other_sessions" if others else None,
        )

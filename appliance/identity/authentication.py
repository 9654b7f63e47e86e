"""Sign-in: password check, lockout after repeated failures, and the second factor.

Every failure looks the same to the person signing in (unknown user, wrong password, locked,
disabled): the message must never confirm that a username exists.

Failures count towards one lockout, and only a full sign-in (the password, then the second
factor when the person has one) resets the count: if the password alone reset it, "right
password, four wrong codes" could be repeated for ever without locking the account.

Parallel attempts on one account are serialised by a row lock on the user (see
`lock_for_attempt`), and the count itself moves by atomic UPDATEs: on PostgreSQL two requests
otherwise both read "4 failures", and each writes 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, literal, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from appliance import clock, metrics
from appliance.audit.record import Outcome, record_by, record_event
from appliance.crypto.keyfiles import Keys
from appliance.db import UTCDateTime, read_only, unit_of_work
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


# What decides an attempt: re-read under the row lock, never trusted from an earlier read.
_ATTEMPT_STATE = (
    "password_hash",
    "is_active",
    "failed_logins",
    "locked_until",
    "mfa_enabled",
    "mfa_secret_sealed",
    "mfa_last_step",
)


def lock_for_attempt(db: Session, user: User) -> None:
    """Take the user's row lock (SELECT ... FOR UPDATE) until this unit of work ends, and re-read
    the state an attempt is decided on.

    Without it, on PostgreSQL, parallel requests all pass the `is_locked` check read before any
    of them was counted: a guesser would get as many tries per lockout as requests in flight,
    not the threshold. SQLite renders no FOR UPDATE; it needs none, since every unit of work
    there already holds the database's write lock from its first statement (appliance.db).
    Only the attempt's own columns are refreshed, so unrelated pending changes survive.
    """
    db.refresh(user, attribute_names=_ATTEMPT_STATE, with_for_update=True)


def count_failure(db: Session, settings: Settings, user: User) -> bool:
    """Count one failed attempt; lock the account when the threshold is reached (True).

    One UPDATE does the counting and the locking, reading the count in the database rather
    than from `user`: a read-modify-write in Python loses the increments of parallel attempts.
    Reaching the threshold restarts the count at 0, so the lock, once it lifts, gives the usual
    number of tries again.
    """
    assert user.id is not None
    count, locked_until = col(User.failed_logins), col(User.locked_until)
    reaches = count + 1 >= settings.lockout_threshold
    until = clock.utcnow() + timedelta(minutes=settings.lockout_minutes)
    row = db.exec(
        update(User)
        .where(col(User.id) == user.id)
        .values(
            failed_logins=case((reaches, 0), else_=count + 1),
            locked_until=case((reaches, literal(until, UTCDateTime())), else_=locked_until),
        )
        .returning(count, locked_until),
        execution_options={"synchronize_session": False},
    ).one()
    failures: int = row[0]
    # The row is the truth now; mirror it without marking `user` dirty (a later flush of a stale
    # value would undo a parallel attempt's count).
    set_committed_value(user, "failed_logins", failures)
    set_committed_value(user, "locked_until", row[1])
    locked = failures == 0  # only reaching the threshold leaves 0 after an increment
    if locked:
        metrics.ACCOUNT_LOCKOUTS.inc()
        record_by(actor_for(user), "auth.lockout", object_type="user", object_id=user.id)
    return locked


def signed_in_fully(db: Session, user: User) -> None:
    """The person proved both factors (or their only one): the count of failures starts over.

    Call it under `lock_for_attempt`, so a parallel failure cannot be overwritten."""
    user.failed_logins = 0
    user.locked_until = None
    db.add(user)


@dataclass(frozen=True)
class PasswordCheck:
    """The argon2 verdict on a sign-in's password, reached before its unit of work.

    argon2 takes tens of milliseconds of CPU by design. Inside the unit of work it ran while
    holding SQLite's write lock (every unit takes it at its first statement, appliance.db), so
    ten sign-ins a second kept every other writer waiting; an outsider needs no account to send
    them. The verdict is tied to the hash it was checked against, and `sign_in` uses it only
    while the stored hash is still that one.
    """

    user_id: int | None
    checked_hash: str | None
    ok: bool


def check_password(engine: Engine, username: str, password: str) -> PasswordCheck:
    """Look the person up in a read-only session (no write lock), then hash outside any
    transaction. Unknown names and accounts without a password cost the same time."""
    with read_only(engine) as db:
        user = find_user(db, username)
        user_id, stored = (user.id, user.password_hash) if user else (None, None)
    if stored is None:
        burn_verification_time(password)
        return PasswordCheck(user_id, None, ok=False)
    return PasswordCheck(user_id, stored, ok=verify_password(password, stored))


def check_own_password(engine: Engine, user_id: int, password: str) -> PasswordCheck:
    """`check_password` for a person already signed in who proves it is them again (signing a
    note, deleting a client): the hash, too, runs before the unit of work."""
    with read_only(engine) as db:
        user = db.get(User, user_id)
        stored = user.password_hash if user else None
    if stored is None:
        burn_verification_time(password)
        return PasswordCheck(user_id, None, ok=False)
    return PasswordCheck(user_id, stored, ok=verify_password(password, stored))


def sign_in_with_password(
    engine: Engine, settings: Settings, username: str, password: str
) -> SignInResult:
    """The whole sign-in with a password: argon2 first, then its own unit of work."""
    check = check_password(engine, username, password)
    with unit_of_work(engine) as db:
        return sign_in(db, settings, check)


def sign_in(db: Session, settings: Settings, check: PasswordCheck) -> SignInResult:
    user = db.get(User, check.user_id) if check.user_id is not None else None
    if user is None or user.password_hash is None:
        return _fail(user, "unknown_user" if user is None else "not_set_up")
    # Parallel attempts on this account wait here for each other's verdict, not for argon2.
    lock_for_attempt(db, user)
    if user.password_hash != check.checked_hash:
        # The password changed while this one was being hashed: decide nothing on the old hash.
        return _fail(user, "password_changed")
    if is_locked(user):
        return _fail(user, "locked")
    if not user.is_active:
        return _fail(user, "disabled")
    if not check.ok:
        count_failure(db, settings, user)
        return _fail(user, "bad_password")
    if not user.mfa_enabled:
        signed_in_fully(db, user)
    # With a second factor pending the count stays: it is reset by complete_second_factor.
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
    Wrong codes count towards the same lockout as wrong passwords, and the count they add to
    survives the password step, which reset nothing.
    """
    lock_for_attempt(db, user)
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
    signed_in_fully(db, user)
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

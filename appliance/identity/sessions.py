"""Server-side sign-in sessions: idle timeout, absolute lifetime, explicit end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from appliance import clock
from appliance.identity.tokens import new_token, token_digest
from appliance.models import User, UserSession
from appliance.settings import Settings

# Writing last_seen on every request would turn each page view into a write; a few seconds
# of slack on a 15-minute timer is invisible to people and halves database writes.
TOUCH_EVERY = timedelta(seconds=5)


@dataclass(frozen=True)
class LiveSession:
    session: UserSession
    user: User
    idle_deadline: datetime

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.idle_deadline - clock.utcnow()).total_seconds()))


def start_session(db: Session, user: User, settings: Settings, *, mfa_passed: bool) -> str:
    """Create a session row and return the raw token for the cookie (stored only hashed)."""
    assert user.id is not None
    token = new_token()
    now = clock.utcnow()
    db.add(
        UserSession(
            token_hash=token_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_lifetime_hours),
            mfa_passed=mfa_passed,
        )
    )
    db.flush()
    return token


def _idle_deadline(user_session: UserSession, settings: Settings) -> datetime:
    idle_end = user_session.last_seen_at + timedelta(minutes=settings.idle_timeout_minutes)
    return min(idle_end, user_session.expires_at)


def resume_session(
    db: Session, token: str, settings: Settings, *, touch: bool = True
) -> LiveSession | None:
    """The live session for a cookie token, or None (ending it if it has just timed out)."""
    user_session = db.exec(
        select(UserSession).where(UserSession.token_hash == token_digest(token))
    ).first()
    if user_session is None or user_session.ended_at is not None:
        return None
    now = clock.utcnow()
    if now >= user_session.expires_at:
        _end(db, user_session, "expired")
        return None
    if now >= _idle_deadline(user_session, settings):
        _end(db, user_session, "idle_timeout")
        return None
    user = db.get(User, user_session.user_id)
    if user is None or not user.is_active:
        _end(db, user_session, "account_disabled")
        return None
    if touch and now - user_session.last_seen_at >= TOUCH_EVERY:
        user_session.last_seen_at = now
        db.add(user_session)
    return LiveSession(user_session, user, _idle_deadline(user_session, settings))


def _end(db: Session, user_session: UserSession, reason: str) -> None:
    user_session.ended_at = clock.utcnow()
    user_session.end_reason = reason
    db.add(user_session)


def end_session(db: Session, token: str, reason: str = "logout") -> UserSession | None:
    user_session = db.exec(
        select(UserSession).where(UserSession.token_hash == token_digest(token))
    ).first()
    if user_session is not None and user_session.ended_at is None:
        _end(db, user_session, reason)
    return user_session


def live_session_counts(db: Session) -> dict[int, int]:
    """User id -> how many sessions they have open now (not ended, not past their lifetime).

    A session left idle past its timeout still counts until it is next used (which ends it)
    or its lifetime runs out.
    """
    rows = db.exec(
        select(UserSession.user_id, func.count())
        .where(col(UserSession.ended_at).is_(None), UserSession.expires_at > clock.utcnow())
        .group_by(col(UserSession.user_id))
    ).all()
    return {user_id: count for user_id, count in rows}

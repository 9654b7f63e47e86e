"""One-time links: the very first admin's, and each new person's password setup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from appliance import clock
from appliance.audit.record import Outcome, record_by, record_event
from appliance.identity.accounts import (
    AccountError,
    actor_for,
    count_active_admins,
    create_user,
    require_admin,
    set_password,
)
from appliance.identity.tokens import new_token, token_digest
from appliance.models import SetupToken, User
from appliance.roles import Actor, Role
from appliance.settings import Settings


class Purpose(StrEnum):
    FIRST_ADMIN = "first_admin"
    USER_SETUP = "user_setup"


@dataclass(frozen=True)
class SetupLink:
    token: str
    purpose: Purpose
    user: User | None


class SetupLinkInvalid(AccountError):
    pass


INVALID_MESSAGE = (
    "This setup link is not valid: it has expired, was already used, or was replaced by a "
    "newer one. Ask your administrator for a new link."
)


def url_for_token(settings: Settings, token: str) -> str:
    return f"{settings.resolved_public_url}/setup/{token}"


def _retire_open_tokens(db: Session, purpose: Purpose, user_id: int | None) -> None:
    now = clock.utcnow()
    open_tokens = db.exec(
        select(SetupToken).where(
            SetupToken.purpose == purpose.value,
            SetupToken.user_id == user_id,
            col(SetupToken.used_at).is_(None),
        )
    )
    for token in open_tokens:
        token.used_at = now  # only the newest link works: a leaked old one is dead
        db.add(token)


def _issue(db: Session, settings: Settings, purpose: Purpose, user_id: int | None) -> str:
    _retire_open_tokens(db, purpose, user_id)
    token = new_token()
    now = clock.utcnow()
    db.add(
        SetupToken(
            token_hash=token_digest(token),
            purpose=purpose.value,
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(hours=settings.setup_link_hours),
        )
    )
    db.flush()
    return token


def issue_first_admin_link(db: Session, settings: Settings) -> str | None:
    """A link to create the first admin, or None once an active admin exists."""
    if count_active_admins(db) > 0:
        return None
    token = _issue(db, settings, Purpose.FIRST_ADMIN, None)
    record_by(None, "setup.first_admin_link")
    return token


def issue_user_setup_link(db: Session, settings: Settings, user: User, *, by: Actor | None) -> str:
    """The first link of an account just created, for the person to choose their password."""
    require_admin(by, "user.setup_link")
    token = _issue(db, settings, Purpose.USER_SETUP, user.id)
    record_by(by, "user.setup_link", object_type="user", object_id=user.id)
    return token


def reissue_setup_link(db: Session, settings: Settings, user: User, *, by: Actor | None) -> str:
    """A new link for an existing account (a forgotten password, an expired first link).

    Recorded as its own action, a privileged access change (identity.access_changes): whoever
    redeems it signs in as that person, with their clients.
    """
    require_admin(by, "user.setup_link_reissue")
    token = _issue(db, settings, Purpose.USER_SETUP, user.id)
    record_by(by, "user.setup_link_reissue", object_type="user", object_id=user.id)
    return token


def _live_token(db: Session, token: str) -> SetupToken:
    row = db.exec(select(SetupToken).where(SetupToken.token_hash == token_digest(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= clock.utcnow():
        record_event("setup.redeem", Outcome.DENIED, reason="invalid_link")
        raise SetupLinkInvalid(INVALID_MESSAGE)
    return row


def open_link(db: Session, token: str) -> SetupLink:
    return _link_for(db, _live_token(db, token), token)


def _link_for(db: Session, row: SetupToken, token: str) -> SetupLink:
    user = db.get(User, row.user_id) if row.user_id is not None else None
    if row.purpose == Purpose.USER_SETUP.value and (user is None or not user.is_active):
        raise SetupLinkInvalid(INVALID_MESSAGE)
    return SetupLink(token=token, purpose=Purpose(row.purpose), user=user)


def redeem_link(db: Session, token: str, *, password: str, username: str | None = None) -> User:
    """Use the link once: create the first admin or set the person's password."""
    row = _live_token(db, token)
    link = _link_for(db, row, token)
    if link.purpose is Purpose.FIRST_ADMIN:
        if count_active_admins(db) > 0:
            raise SetupLinkInvalid(INVALID_MESSAGE)
        user = create_user(db, username or "", Role.ADMIN, password=password, by=None)
    else:
        assert link.user is not None
        user = link.user
        set_password(db, user, password, by=actor_for(user))  # done by the person themselves
    row.used_at = clock.utcnow()
    db.add(row)
    record_by(actor_for(user), "setup.redeem", object_type="user", object_id=user.id)
    return user

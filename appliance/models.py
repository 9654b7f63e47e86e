"""Tables. Every schema change comes with an Alembic migration (tests compare the two)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from appliance.db import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-cased: "Alice" and "alice" must never be two people (unique identification).
    username: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    # Empty until the person sets it through their one-time setup link.
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mfa_enabled: bool = Field(default=False)
    # TOTP seed, AES-GCM encrypted under the credentials key (see appliance.credential_box).
    mfa_secret_sealed: bytes | None = Field(default=None)
    # Last accepted TOTP time step: a code is single-use even inside its 30 s window.
    mfa_last_step: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Supervision(SQLModel, table=True):
    """A supervisor reads and co-signs the notes of the clinicians assigned to them."""

    __tablename__ = "supervisions"

    supervisor_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    clinician_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")


class UserSession(SQLModel, table=True):
    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the cookie token: a database leak must not hand out live sessions.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=32)
    mfa_passed: bool = Field(default=False)


class SetupToken(SQLModel, table=True):
    """One-time link: the first admin's (no user yet) or a new person's password setup."""

    __tablename__ = "setup_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    purpose: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SystemSetting(SQLModel, table=True):
    """Settings an admin changes at run time (unlike the environment/TOML settings)."""

    __tablename__ = "system_settings"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class Client(SQLModel, table=True):
    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("owner_id", "external_id"),)

    # Random, not sequential: a URL must not reveal how many clients a practice has.
    id: str = Field(primary_key=True, max_length=32)
    owner_id: int = Field(foreign_key="users.id", index=True)
    display_name: str = Field(max_length=120)
    external_id: str | None = Field(default=None, max_length=64)
    date_of_birth: date | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)

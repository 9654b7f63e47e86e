"""TOTP second factor (RFC 6238 via pyotp) with single-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlmodel import Session, col, select

from appliance import clock
from appliance.audit.record import Outcome, record_by
from appliance.crypto.credential_box import seal, unseal
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import actor_for, require_admin
from appliance.models import RecoveryCode, User
from appliance.roles import Actor

ISSUER = "Therapy Notes Appliance"
SEAL_PURPOSE = "totp"
RECOVERY_CODE_COUNT = 10
# Accept the previous and next 30 s step too: phone clocks drift.
VALID_WINDOW = 1


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str
    qr_svg: str


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def _secret_of(keys: Keys, user: User) -> str:
    assert user.id is not None and user.mfa_secret_sealed is not None
    return unseal(keys.credentials, SEAL_PURPOSE, user.id, user.mfa_secret_sealed).decode()


def begin_enrolment(db: Session, keys: Keys, user: User) -> Enrolment:
    """Store a fresh, not yet active secret; it becomes active once a code from it is confirmed."""
    if user.mfa_enabled:
        raise ValueError("two-factor sign-in is already on")
    assert user.id is not None
    secret = pyotp.random_base32()
    user.mfa_secret_sealed = seal(keys.credentials, SEAL_PURPOSE, user.id, secret.encode())
    db.add(user)
    return enrolment_for(keys, user)


def pending_enrolment(keys: Keys, user: User) -> Enrolment | None:
    if user.mfa_enabled or user.mfa_secret_sealed is None:
        return None
    return enrolment_for(keys, user)


def enrolment_for(keys: Keys, user: User) -> Enrolment:
    secret = _secret_of(keys, user)
    uri = _totp(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
    return Enrolment(secret=secret, provisioning_uri=uri, qr_svg=svg)


def _matching_step(secret: str, code: str) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    now_step = int(time.time()) // 30
    totp = _totp(secret)
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * 30), code):
            return step
    return None


def _code_digest(code: str) -> str:
    # SHA-256 suffices: recovery codes carry 80 random bits, nothing to brute-force.
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def confirm_enrolment(db: Session, keys: Keys, user: User, code: str) -> list[str] | None:
    """Turn MFA on if `code` matches the pending secret; returns the new recovery codes."""
    if user.mfa_enabled or user.mfa_secret_sealed is None:
        return None
    step = _matching_step(_secret_of(keys, user), code)
    if step is None:
        record_by(actor_for(user), "auth.mfa_enrol", Outcome.FAILED)
        return None
    user.mfa_enabled = True
    user.mfa_last_step = step
    db.add(user)
    codes = _replace_recovery_codes(db, user)
    record_by(actor_for(user), "auth.mfa_enrol")
    return codes


def _replace_recovery_codes(db: Session, user: User) -> list[str]:
    for old in db.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    assert user.id is not None
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(user_id=user.id, code_hash=_code_digest(raw)))
    return codes


def verify_second_factor(db: Session, keys: Keys, user: User, code: str) -> str | None:
    """'totp' or 'recovery_code' when the code is good (and now spent), else None."""
    if not user.mfa_enabled or user.mfa_secret_sealed is None:
        return None
    step = _matching_step(_secret_of(keys, user), code)
    if step is not None:
        if user.mfa_last_step is not None and step <= user.mfa_last_step:
            return None  # replay of a code already used
        user.mfa_last_step = step
        db.add(user)
        return "totp"
    digest = _code_digest(code)
    recovery = db.exec(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest,
            col(RecoveryCode.used_at).is_(None),
        )
    ).first()
    if recovery is None:
        return None
    recovery.used_at = clock.utcnow()
    db.add(recovery)
    return "recovery_code"


def remaining_recovery_codes(db: Session, user: User) -> int:
    return len(
        db.exec(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, col(RecoveryCode.used_at).is_(None)
            )
        ).all()
    )


def reset_mfa(db: Session, user: User, *, by: Actor | None) -> None:
    """Admin action for a lost phone: the person enrols again at next sign-in."""
    require_admin(by, "user.mfa_reset")
    user.mfa_enabled = False
    user.mfa_secret_sealed = None
    user.mfa_last_step = None
    db.add(user)
    for old in db.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    record_by(by, "user.mfa_reset", object_type="user", object_id=user.id)

"""TOTP second factor (RFC 6238 via pyotp) with single-use recovery codes.

Both kinds of code are spent by a conditional UPDATE whose row count decides, so a code sent in
two parallel requests works in one of them only, on PostgreSQL as on SQLite.

Recovery codes are stored as HMAC-SHA256 under the credentials key, bound to their owner. That
key already seals the TOTP seeds: whoever holds it and a database copy can mint codes anyway, so
keying the recovery codes under it exposes nothing new, whereas the index key (blind indexes of
client record numbers) would tie the second factor to a key with another job. A database copy
alone then gives nothing to guess offline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
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
# 80 random bits. Online guessing is stopped by the lockout already; 80 bits also keep the codes
# out of reach of a brute force by someone holding a database copy and the credentials key.
RECOVERY_CODE_BITS = 80
# Crockford's base32: digits and letters without I, L, O and U, so no character reads as
# another. 5 bits a character: 16 characters, shown as four groups of four.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BITS_PER_CHARACTER = 5
_GROUP = 4
# People type O for 0 and I or L for 1 (Crockford's rule): those letters are not in the codes.
_LOOKALIKES = str.maketrans("OIL", "011")
# Codes handed out before migration 0007: ten hex digits, stored then as bare SHA-256, now as
# HMAC of that SHA-256 (see wrap_legacy_digest); they work until used or replaced.
_LEGACY_LENGTH = 10
_HEX_DIGITS = frozenset("0123456789abcdef")
_RECOVERY_PURPOSE = "recovery-code"
_LEGACY_RECOVERY_PURPOSE = "recovery-code-sha256"
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
    # ASCII only: "²²²²²²" is six digits to str.isdigit, and hmac.compare_digest raises on
    # non-ASCII text (a 500, issue 11's fuzzing).
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    now_step = int(time.time()) // 30
    totp = _totp(secret)
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * 30), code):
            return step
    return None


def new_recovery_code() -> str:
    """80 random bits in Crockford's base32, e.g. "7K3M-QX9A-2BCD-EF4G"."""
    value = secrets.randbits(RECOVERY_CODE_BITS)
    length = RECOVERY_CODE_BITS // _BITS_PER_CHARACTER
    characters = "".join(
        RECOVERY_ALPHABET[(value >> (_BITS_PER_CHARACTER * i)) & 0b11111]
        for i in reversed(range(length))
    )
    return "-".join(characters[i : i + _GROUP] for i in range(0, length, _GROUP))


def _keyed_digest(key: bytes, purpose: str, user_id: int, value: str) -> str:
    # Bound to the owner like the sealed seeds: a row copied onto another account does not work
    # there, and equal codes of two people (never, at 80 bits) would not show as equal digests.
    message = f"{purpose}\x00{user_id}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def wrap_legacy_digest(key: bytes, user_id: int, sha256_hex: str) -> str:
    """What migration 0007 stores for a code that was stored as its bare SHA-256.

    The code itself is unknown to the migration, so its old digest is keyed in turn: the
    40-bit codes of before stay usable, and nothing unkeyed remains to be guessed offline."""
    return _keyed_digest(key, _LEGACY_RECOVERY_PURPOSE, user_id, sha256_hex)


def _recovery_digests(key: bytes, user_id: int, code: str) -> list[str]:
    """The stored digests the typed `code` would match: case, spaces and dashes ignored."""
    typed = "".join(code.split()).replace("-", "").upper()
    digests = []
    current = typed.translate(_LOOKALIKES)
    if len(current) * _BITS_PER_CHARACTER == RECOVERY_CODE_BITS and set(current) <= set(
        RECOVERY_ALPHABET
    ):
        digests.append(_keyed_digest(key, _RECOVERY_PURPOSE, user_id, current))
    legacy = typed.lower()
    if len(legacy) == _LEGACY_LENGTH and set(legacy) <= _HEX_DIGITS:
        old_digest = hashlib.sha256(legacy.encode()).hexdigest()
        digests.append(wrap_legacy_digest(key, user_id, old_digest))
    return digests


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
    codes = _replace_recovery_codes(db, keys, user)
    record_by(actor_for(user), "auth.mfa_enrol")
    return codes


def _replace_recovery_codes(db: Session, keys: Keys, user: User) -> list[str]:
    for old in db.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    assert user.id is not None
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        code = new_recovery_code()
        (digest,) = _recovery_digests(keys.credentials, user.id, code)
        codes.append(code)
        db.add(RecoveryCode(user_id=user.id, code_hash=digest))
    return codes


def verify_second_factor(db: Session, keys: Keys, user: User, code: str) -> str | None:
    """'totp' or 'recovery_code' when the code is good (and now spent), else None.

    The caller counts a None towards the lockout (appliance.identity.authentication)."""
    if not user.mfa_enabled or user.mfa_secret_sealed is None:
        return None
    assert user.id is not None
    step = _matching_step(_secret_of(keys, user), code)
    if step is not None:
        return "totp" if _spend_step(db, user, step) else None
    return "recovery_code" if _spend_recovery_code(db, keys, user.id, code) else None


def _spend_step(db: Session, user: User, step: int) -> bool:
    """Record `step` as used unless it, or a later one, already was (a replay).

    The comparison is in the UPDATE, not in Python: two parallel requests with one code both
    read the old last step, but the second UPDATE waits for the first and then matches nothing.
    """
    last = col(User.mfa_last_step)
    taken = db.exec(
        update(User)
        .where(col(User.id) == user.id, or_(last.is_(None), last < step))
        .values(mfa_last_step=step),
        execution_options={"synchronize_session": False},
    ).rowcount
    if taken:
        set_committed_value(user, "mfa_last_step", step)
    return taken == 1


def _spend_recovery_code(db: Session, keys: Keys, user_id: int, code: str) -> bool:
    digests = _recovery_digests(keys.credentials, user_id, code)
    if not digests:
        return False
    found = db.exec(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id,
            col(RecoveryCode.code_hash).in_(digests),
            col(RecoveryCode.used_at).is_(None),
        )
    ).first()
    if found is None:
        return False
    # "... AND used_at IS NULL": of two requests that both found the code unused, only the
    # first UPDATE changes a row; the other, re-checked once the first commits, changes none.
    spent = db.exec(
        update(RecoveryCode)
        .where(col(RecoveryCode.id) == found, col(RecoveryCode.used_at).is_(None))
        .values(used_at=clock.utcnow()),
        execution_options={"synchronize_session": False},
    ).rowcount
    return spent == 1


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

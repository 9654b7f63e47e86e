"""Password hashing (argon2id via passlib) and the password policy (ASVS 5.0 V6/V11)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from passlib.context import CryptContext
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from offline attack".
MIN_STRENGTH = 3

# OWASP's argon2id floor is m=19 MiB, t=2, p=1; we keep exactly that so a small CPU-only box
# still verifies a sign-in quickly (docs/performance.md), and raise it through passlib's
# needs_update later.
_context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19 * 1024,
    argon2__time_cost=2,
    argon2__parallelism=1,
)


def normalise(password: str) -> str:
    # NFKC so that the same passphrase typed on two keyboards (composed vs decomposed) matches.
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return str(_context.hash(normalise(password)))


def verify_password(password: str, password_hash: str) -> bool:
    normalised = normalise(password)
    if len(normalised) > MAX_LENGTH:
        # No password longer than the policy allows was ever set, so it cannot match; and
        # passlib refuses past 4,096 characters with an exception (a 500 at the sign-in form,
        # issue 11's fuzzing). The time is burnt as for any miss.
        _context.verify("x" * MAX_LENGTH, password_hash)
        return False
    return bool(_context.verify(normalised, password_hash))


# Verified against when the username is unknown, so that a miss costs as long as a hit
# and timing does not reveal which usernames exist.
_DUMMY_HASH = hash_password("timing-equaliser-not-a-real-password")


def burn_verification_time(password: str) -> None:
    verify_password(password, _DUMMY_HASH)


@dataclass(frozen=True)
class PolicyResult:
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_policy(password: str, *, username: str = "") -> PolicyResult:
    password = normalise(password)
    if len(password) < MIN_LENGTH:
        return PolicyResult((f"Use at least {MIN_LENGTH} characters.",))
    if len(password) > MAX_LENGTH:
        return PolicyResult((f"Use at most {MAX_LENGTH} characters.",))
    if username and username.lower() in password.lower():
        return PolicyResult(("Do not include your username.",))
    # zxcvbn cost grows with length; beyond 64 characters a passphrase is long enough anyway.
    result = zxcvbn(password[:64], user_inputs=[username, "therapy", "clinic", "appliance"])
    if result["score"] < MIN_STRENGTH:
        feedback = result.get("feedback") or {}
        hints = [feedback.get("warning") or "This password is too easy to guess."]
        hints += list(feedback.get("suggestions") or [])
        return PolicyResult(tuple(h for h in hints if h))
    return PolicyResult(())

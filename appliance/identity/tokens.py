"""Random bearer tokens and their stored form."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    # A plain SHA-256 is enough here (unlike passwords): the token has 256 bits of entropy,
    # so there is nothing to brute-force; the digest only keeps a DB copy from being replayable.
    return hashlib.sha256(token.encode()).hexdigest()

"""Seals small credentials (TOTP seeds) with AES-256-GCM, bound to their owner's row.

Not PHI, but a database copy alone must not let anyone mint second factors.
"""

from __future__ import annotations

from appliance.crypto import aead


class CredentialUnsealError(Exception):
    pass


def _aad(purpose: str, owner_id: int) -> bytes:
    return f"{purpose}:{owner_id}".encode()


def seal(key: bytes, purpose: str, owner_id: int, plaintext: bytes) -> bytes:
    return aead.seal(key, plaintext, _aad(purpose, owner_id))


def unseal(key: bytes, purpose: str, owner_id: int, sealed: bytes) -> bytes:
    try:
        return aead.unseal(key, sealed, _aad(purpose, owner_id))
    except aead.Unsealable as exc:
        raise CredentialUnsealError(f"{purpose} for user {owner_id} does not unseal") from exc

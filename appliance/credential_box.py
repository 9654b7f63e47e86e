"""Seals small credentials (TOTP seeds) with AES-256-GCM, bound to their owner's row.

Not PHI, but a database copy alone must not let anyone mint second factors.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class CredentialUnsealError(Exception):
    pass


def _aad(purpose: str, owner_id: int) -> bytes:
    return f"{purpose}:{owner_id}".encode()


def seal(key: bytes, purpose: str, owner_id: int, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _aad(purpose, owner_id))


def unseal(key: bytes, purpose: str, owner_id: int, sealed: bytes) -> bytes:
    nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _aad(purpose, owner_id))
    except InvalidTag as exc:
        raise CredentialUnsealError(f"{purpose} for user {owner_id} does not unseal") from exc

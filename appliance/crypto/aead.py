"""AES-256-GCM with a random 96-bit nonce: the appliance's one authenticated-encryption primitive.

Every sealed value (wrapped data keys, PHI fields and files, TOTP seeds) goes through `seal` and
`unseal`; callers differ only in their key, their associated data (what the ciphertext is bound
to) and an optional format prefix. The wire form is `prefix || nonce || ciphertext+tag`.

Random nonces are safe here because no key seals anywhere near 2**32 messages: each record has
its own data key, and the KEK wraps one data key per record.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class Unsealable(Exception):
    """The value does not open: wrong key, wrong associated data, an unknown format, or tampering.
    Callers turn it into their own error, naming the record (never its content)."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: bytes, plaintext: bytes, aad: bytes, *, prefix: bytes = b"") -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return prefix + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, sealed: bytes, aad: bytes, *, prefix: bytes = b"") -> bytes:
    if not sealed.startswith(prefix):
        raise Unsealable("unknown ciphertext format")
    body = sealed[len(prefix) :]
    try:
        return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise Unsealable("authentication failed") from exc

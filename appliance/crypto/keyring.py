"""Key-encryption keys (KEKs): wrap and unwrap the per-record data keys.

A KEK is named by a key id derived from the key itself, so the database can say which KEK
wrapped each data key without holding anything secret.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from appliance.crypto import aead


class UnwrapError(Exception):
    """A wrapped data key does not open with the KEK it names (wrong key file or tampering)."""


def key_id(kek: bytes) -> str:
    return hashlib.sha256(b"appliance-kek-id:" + kek).hexdigest()[:16]


def next_kek_path(kek_path: Path) -> Path:
    return kek_path.with_name(kek_path.name + ".next")


class KeyRing:
    """The KEK in use, plus the one being rotated to while a rotation is unfinished."""

    def __init__(self, keks: list[bytes]) -> None:
        if not keks:
            raise ValueError("a key ring needs at least one KEK")
        self._keys = {key_id(k): k for k in keks}
        # New data keys go under the newest KEK so a resumed rotation never has to redo them.
        self.active_id = key_id(keks[-1])

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def wrap(self, dek: bytes, dek_id: int) -> tuple[str, bytes]:
        kek = self._keys[self.active_id]
        return self.active_id, aead.seal(kek, dek, _aad(self.active_id, dek_id))

    def unwrap(self, kid: str, wrapped: bytes, dek_id: int) -> bytes:
        kek = self._keys.get(kid)
        if kek is None:
            raise UnwrapError(f"data key {dek_id} is wrapped by KEK {kid}, which is not loaded")
        try:
            return aead.unseal(kek, wrapped, _aad(kid, dek_id))
        except aead.Unsealable as exc:
            raise UnwrapError(f"data key {dek_id} does not unwrap") from exc


def _aad(kid: str, dek_id: int) -> bytes:
    # Binding the data key's id means a wrapped key copied onto another row will not open.
    return f"dek:{dek_id}:kek:{kid}".encode()

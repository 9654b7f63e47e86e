"""Envelope encryption of PHI: each record (or file) under its own data key (DEK).

A DEK is random, used with AES-256-GCM (appliance.crypto.aead), and stored only wrapped by the
KEK (appliance.crypto.keyring). Every ciphertext is bound by its associated data to table, row
id and field, so a ciphertext copied onto another row or into another column does not decrypt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from appliance import clock
from appliance.crypto import aead
from appliance.crypto.keyring import KeyRing
from appliance.models import DataKey

FORMAT_VERSION = b"\x01"


class DecryptionError(Exception):
    """Ciphertext does not open: wrong row or field, tampering, or a shredded key."""


class KeyShredded(DecryptionError):
    """The record's data key was destroyed on purpose (crypto-shredding)."""


@dataclass(frozen=True)
class RecordKey:
    """An unwrapped data key, held only in memory for the duration of one operation."""

    id: int
    key: bytes = field(repr=False)  # never printed, not even in a traceback


def new_record_key(db: Session, keks: KeyRing, purpose: str) -> RecordKey:
    row = DataKey(kid=keks.active_id, purpose=purpose, created_at=clock.utcnow())
    db.add(row)
    db.flush()  # the row id goes into the wrapping's associated data
    assert row.id is not None
    dek = aead.new_key()
    row.kid, row.wrapped = keks.wrap(dek, row.id)
    db.add(row)
    return RecordKey(row.id, dek)


def _unwrap(keks: KeyRing, data_key_id: int, row: DataKey | None) -> RecordKey:
    if row is None:
        raise DecryptionError(f"data key {data_key_id} does not exist")
    if row.wrapped is None:
        raise KeyShredded(f"data key {data_key_id} was shredded")
    return RecordKey(data_key_id, keks.unwrap(row.kid, row.wrapped, data_key_id))


def open_record_key(db: Session, keks: KeyRing, data_key_id: int) -> RecordKey:
    return _unwrap(keks, data_key_id, db.get(DataKey, data_key_id))


def open_record_keys(db: Session, keks: KeyRing, data_key_ids: list[int]) -> dict[int, RecordKey]:
    """Many keys in one query: listing N records must not cost N round trips."""
    rows = {
        row.id: row
        for row in db.exec(select(DataKey).where(col(DataKey.id).in_(data_key_ids))).all()
    }
    return {i: _unwrap(keks, i, rows.get(i)) for i in data_key_ids}


def crypto_shred(db: Session, data_key_id: int) -> None:
    """Destroy a record's key. Its ciphertext (and every backup of it) becomes noise."""
    row = db.get(DataKey, data_key_id)
    if row is None or row.wrapped is None:
        return
    row.wrapped = None
    row.shredded_at = clock.utcnow()
    db.add(row)


def _aad(key: RecordKey, table: str, row_id: str, field: str) -> bytes:
    return f"{table}/{row_id}/{field}/dek:{key.id}".encode()


def seal_bytes(key: RecordKey, table: str, row_id: str, field: str, plaintext: bytes) -> bytes:
    return aead.seal(key.key, plaintext, _aad(key, table, row_id, field), prefix=FORMAT_VERSION)


def unseal_bytes(key: RecordKey, table: str, row_id: str, field: str, sealed: bytes) -> bytes:
    if sealed[:1] != FORMAT_VERSION:
        raise DecryptionError(f"{table}.{field} of {row_id}: unknown ciphertext format")
    try:
        return aead.unseal(key.key, sealed, _aad(key, table, row_id, field), prefix=FORMAT_VERSION)
    except aead.Unsealable as exc:
        raise DecryptionError(f"{table}.{field} of {row_id} does not decrypt") from exc


def seal(key: RecordKey, table: str, row_id: str, field: str, plaintext: str) -> bytes:
    return seal_bytes(key, table, row_id, field, plaintext.encode())


def unseal(key: RecordKey, table: str, row_id: str, field: str, sealed: bytes) -> str:
    return unseal_bytes(key, table, row_id, field, sealed).decode()

"""`appliance keys rotate`: a new KEK re-wraps every data key; the data itself is untouched.

Resumable by construction: the new KEK is written to `<kek>.next` before anything else, each
batch of re-wrapped keys commits on its own, and the old KEK file is replaced only when no
data key needs it any more. Run it again after an interruption and it carries on.
Stop the service while rotating: a running server holds only the KEKs it started with.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import col, delete, select

from appliance.audit.record import record_by
from appliance.crypto.kek_registry import register
from appliance.crypto.keyfiles import KeyPaths, read_key, write_new_key
from appliance.crypto.keyring import KeyRing, key_id, next_kek_path
from appliance.db import unit_of_work
from appliance.models import DataKey, KeyEncryptionKey

BATCH_SIZE = 200


@dataclass(frozen=True)
class RotationReport:
    old_kid: str
    new_kid: str
    resumed: bool
    rewrapped: int


def rotate_kek(
    engine: Engine,
    paths: KeyPaths,
    *,
    batch_size: int = BATCH_SIZE,
    after_batch: Callable[[int], None] | None = None,
) -> RotationReport:
    pending_path = next_kek_path(paths.kek)
    old = read_key(paths.kek)
    resumed = pending_path.exists()
    new = read_key(pending_path) if resumed else write_new_key(pending_path)
    ring = KeyRing([old, new])
    old_kid, new_kid = key_id(old), ring.active_id
    with unit_of_work(engine) as db:
        register(db, new_kid)
    record_by(
        None,
        "keys.rotate",
        object_type="kek",
        object_id=new_kid,
        reason="resumed" if resumed else "started",
    )

    rewrapped = 0
    while True:
        with unit_of_work(engine) as db:
            batch = db.exec(select(DataKey).where(DataKey.kid != new_kid).limit(batch_size)).all()
            for row in batch:
                assert row.id is not None
                if row.wrapped is not None:
                    dek = ring.unwrap(row.kid, row.wrapped, row.id)
                    row.kid, row.wrapped = ring.wrap(dek, row.id)
                else:
                    row.kid = new_kid  # shredded: nothing to re-wrap, only the label moves
                db.add(row)
        rewrapped += len(batch)
        if not batch:
            break
        if after_batch is not None:
            after_batch(rewrapped)

    with unit_of_work(engine) as db:
        # Deleting the old id makes any data key still pointing at it a foreign-key error,
        # rather than a key silently wrapped by a KEK that is about to disappear.
        db.exec(delete(KeyEncryptionKey).where(col(KeyEncryptionKey.kid) != new_kid))
    _replace_file(pending_path, paths.kek)
    record_by(None, "keys.rotate", object_type="kek", object_id=new_kid, reason="completed")
    return RotationReport(old_kid, new_kid, resumed, rewrapped)


def _replace_file(source: Path, target: Path) -> None:
    os.replace(source, target)  # atomic on one filesystem: either the old KEK or the new one
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

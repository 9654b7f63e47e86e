"""A streamed recording's audio at rest: one sealed file per chunk, under a key of its own.

`<data_dir>/audio/<dictation_id>.chunks/<sequence>.sealed`, each written whole and fsynced
(appliance.records.whole_files) before the chunk is acknowledged, so a killed server loses no
chunk it answered for. The sequence number is part of each chunk's associated data: a chunk
moved to another number, or another dictation, does not decrypt. Which key seals which chunk is
kept in the database (appliance.records.recording_audio), which shreds a chunk's key as soon as
its audio has been transcribed; `remove_chunk` and `remove_all` then delete the files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from appliance.crypto.envelope import RecordKey, seal_bytes, unseal_bytes
from appliance.records.whole_files import write_whole

TABLE = "dictations"


def _field(sequence: int) -> str:
    return f"audio.{sequence}"


def chunk_dir(data_dir: Path, dictation_id: str) -> Path:
    return data_dir / "audio" / f"{dictation_id}.chunks"


def _path(data_dir: Path, dictation_id: str, sequence: int) -> Path:
    return chunk_dir(data_dir, dictation_id) / f"{sequence:06d}.sealed"


def _ensure_dir(data_dir: Path, dictation_id: str) -> None:
    folder = chunk_dir(data_dir, dictation_id)
    if folder.is_dir():
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The new folder's own entry must survive a power cut too, or the fsynced chunks in it
    # could vanish with it.
    parent = os.open(folder.parent, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # not every filesystem fsyncs a folder
            os.fsync(parent)
    finally:
        os.close(parent)


def write_chunk(
    data_dir: Path, dictation_id: str, key: RecordKey, sequence: int, audio: bytes
) -> None:
    """Durable before it returns; OSError (ENOSPC) leaves no file under the chunk's name."""
    _ensure_dir(data_dir, dictation_id)
    sealed = seal_bytes(key, TABLE, dictation_id, _field(sequence), audio)
    write_whole(_path(data_dir, dictation_id, sequence), sealed)


def read_chunk(data_dir: Path, dictation_id: str, key: RecordKey, sequence: int) -> bytes:
    sealed = _path(data_dir, dictation_id, sequence).read_bytes()
    return unseal_bytes(key, TABLE, dictation_id, _field(sequence), sealed)


def read_joined(data_dir: Path, dictation_id: str, key: RecordKey, count: int) -> bytes:
    """Chunks 0..count-1 under one key, joined: how chunks stored before each had a key of its
    own (revision 0013) are read. Only the acknowledged ones: a file numbered `count` or above
    is a write whose transaction never committed, and is ignored."""
    return b"".join(read_chunk(data_dir, dictation_id, key, n) for n in range(count))


def remove_chunk(data_dir: Path, dictation_id: str, sequence: int) -> None:
    _path(data_dir, dictation_id, sequence).unlink(missing_ok=True)


def remove_all(data_dir: Path, dictation_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(chunk_dir(data_dir, dictation_id))

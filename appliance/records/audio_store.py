"""Uploaded audio at rest: one AES-256-GCM sealed file per dictation, under its own data key.

A streamed recording keeps its audio as sealed chunks instead (appliance.records.audio_chunks,
read through appliance.records.recording_audio); `remove` deletes either, so every shredding
path treats the two alike.

The plaintext exists only in memory: it arrives in a request, is sealed, and is written as
ciphertext. Deleting the file and shredding its key (appliance.crypto.envelope.crypto_shred) leaves
nothing to recover, even from a backup of the file.
"""

from __future__ import annotations

from pathlib import Path

from appliance.crypto.envelope import RecordKey, seal_bytes, unseal_bytes
from appliance.records import audio_chunks
from appliance.records.whole_files import write_whole

TABLE = "dictations"
FIELD = "audio"
# Dictation.source of a recording streamed in chunks (appliance.records.recordings).
STREAMED = "stream"


def audio_dir(data_dir: Path) -> Path:
    path = data_dir / "audio"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(data_dir: Path, dictation_id: str) -> Path:
    return audio_dir(data_dir) / f"{dictation_id}.sealed"


def write_sealed(data_dir: Path, dictation_id: str, key: RecordKey, audio: bytes) -> None:
    """Fsynced before it returns (a crash right after the upload must not lose the dictation);
    OSError (ENOSPC: the disk is full) leaves no file at all."""
    write_whole(_path(data_dir, dictation_id), seal_bytes(key, TABLE, dictation_id, FIELD, audio))


def read_sealed(data_dir: Path, dictation_id: str, key: RecordKey) -> bytes:
    return unseal_bytes(key, TABLE, dictation_id, FIELD, _path(data_dir, dictation_id).read_bytes())


def remove(data_dir: Path, dictation_id: str) -> None:
    """The whole file and any streamed chunks: called wherever the audio's key is shredded."""
    _path(data_dir, dictation_id).unlink(missing_ok=True)
    audio_chunks.remove_all(data_dir, dictation_id)


def exists(data_dir: Path, dictation_id: str) -> bool:
    return _path(data_dir, dictation_id).exists()

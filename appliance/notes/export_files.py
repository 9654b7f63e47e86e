"""Export archives at rest: one AES-256-GCM sealed file per export, under the export's own key.

The zip exists in clear only in the worker's memory and in the download's response. On disk it
is sealed (as audio is: appliance.records.audio_store), and the file is removed, and its key
shredded, once downloaded or expired.
"""

from __future__ import annotations

from pathlib import Path

from appliance.crypto.envelope import RecordKey, seal_bytes, unseal_bytes
from appliance.records.whole_files import partial_path, write_whole

TABLE = "exports"
FIELD = "archive"
SUFFIX = ".sealed"


def exports_dir(data_dir: Path) -> Path:
    path = data_dir / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def path(data_dir: Path, export_id: str) -> Path:
    return exports_dir(data_dir) / f"{export_id}{SUFFIX}"


def write_sealed(data_dir: Path, export_id: str, key: RecordKey, archive: bytes) -> None:
    """Seal and write the archive, fsynced before the caller commits "ready" ("ready" must never
    point at a file a crash lost); OSError (ENOSPC: the disk is full) leaves no file at all."""
    write_whole(path(data_dir, export_id), seal_bytes(key, TABLE, export_id, FIELD, archive))


def read_sealed(data_dir: Path, export_id: str, key: RecordKey) -> bytes:
    return unseal_bytes(key, TABLE, export_id, FIELD, path(data_dir, export_id).read_bytes())


def remove(data_dir: Path, export_id: str) -> None:
    path(data_dir, export_id).unlink(missing_ok=True)
    partial_path(path(data_dir, export_id)).unlink(missing_ok=True)


def stored_ids(data_dir: Path) -> list[str]:
    """Ids of every export with a file on disk (finished or partial)."""
    return sorted({p.name.split(".")[0] for p in exports_dir(data_dir).iterdir()})

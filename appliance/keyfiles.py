"""Key files on disk, outside the database, readable by the service account only (0600).

Issue #3 adds the KEK and the audit key here; this module owns how any of them is made and read.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
SECRET_KEY_FILE = "web_secret.key"  # noqa: S105 (a file name) — HMAC key for CSRF tokens
CREDENTIALS_KEY_FILE = "credentials.key"  # AES-256-GCM key sealing TOTP seeds


class KeyFileError(Exception):
    """A key file is missing, unreadable, too open, or the wrong size."""


@dataclass(frozen=True)
class Keys:
    web_secret: bytes
    credentials: bytes


def create_missing_keys(keys_dir: Path) -> list[Path]:
    """Create any key file that does not exist yet; never overwrite one (that would lose data)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    created = []
    for name in (SECRET_KEY_FILE, CREDENTIALS_KEY_FILE):
        path = keys_dir / name
        if path.exists():
            continue
        # O_EXCL: two `appliance init` runs racing must not both write (one would lose).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
        created.append(path)
    return created


def _read_key(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} is missing; run `appliance init`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is readable by others; run `chmod 600 {path}`")
    data = path.read_bytes()
    if len(data) != KEY_BYTES:
        raise KeyFileError(f"key file {path} has {len(data)} bytes, expected {KEY_BYTES}")
    return data


def load_keys(keys_dir: Path) -> Keys:
    return Keys(
        web_secret=_read_key(keys_dir / SECRET_KEY_FILE),
        credentials=_read_key(keys_dir / CREDENTIALS_KEY_FILE),
    )

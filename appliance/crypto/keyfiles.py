"""Key files on disk, outside the database, readable by the service account only (0600).

Each key has one job: the web secret signs CSRF tokens, the credentials key protects second
factors (it seals TOTP seeds and keys the recovery codes' digests), the KEK wraps the per-record
data keys, the audit key MACs the audit chain, and the index key makes blind indexes. Keeping
them apart means a leak of one does not open the others.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from appliance.crypto.keyring import KeyRing, next_kek_path
from appliance.settings import Settings

KEY_BYTES = 32


class KeyFileError(Exception):
    """A key file is missing, unreadable, too open, or the wrong size."""


@dataclass(frozen=True)
class KeyPaths:
    web_secret: Path
    credentials: Path
    audit: Path
    index: Path
    kek: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyPaths:
        keys_dir = settings.resolved_keys_dir
        return cls(
            web_secret=keys_dir / "web_secret.key",
            credentials=keys_dir / "credentials.key",
            audit=settings.audit_key_file or keys_dir / "audit.key",
            index=keys_dir / "index.key",
            kek=settings.kek_file or keys_dir / "kek.key",
        )

    def all(self) -> tuple[Path, ...]:
        return (self.web_secret, self.credentials, self.audit, self.index, self.kek)


@dataclass(frozen=True)
class Keys:
    web_secret: bytes
    credentials: bytes
    audit: bytes
    index: bytes
    keks: KeyRing


def write_new_key(path: Path) -> bytes:
    """Create a fresh random key file; refuses to overwrite (O_EXCL), since that would lose data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def create_missing_keys(paths: KeyPaths) -> list[Path]:
    created = []
    for path in paths.all():
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
            os.chmod(path.parent, 0o700)
        if not path.exists():
            write_new_key(path)
            created.append(path)
    return created


def read_key(path: Path) -> bytes:
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


def load_keys(paths: KeyPaths) -> Keys:
    keks = [read_key(paths.kek)]
    pending = next_kek_path(paths.kek)
    if pending.exists():
        # A key rotation was interrupted: both KEKs are needed until it is re-run to the end.
        keks.append(read_key(pending))
    return Keys(
        web_secret=read_key(paths.web_secret),
        credentials=read_key(paths.credentials),
        audit=read_key(paths.audit),
        index=read_key(paths.index),
        keks=KeyRing(keks),
    )

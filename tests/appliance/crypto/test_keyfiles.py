from __future__ import annotations

import stat
from pathlib import Path

import pytest

from appliance.crypto.keyfiles import KeyFileError, KeyPaths, create_missing_keys, load_keys
from appliance.settings import Settings


def _paths(tmp_path: Path, **overrides: Path) -> KeyPaths:
    return KeyPaths.from_settings(Settings(data_dir=tmp_path, **overrides))


def test_key_files_are_created_readable_by_the_owner_only(tmp_path: Path) -> None:
    created = create_missing_keys(_paths(tmp_path))
    assert {p.name for p in created} == {
        "web_secret.key",
        "credentials.key",
        "audit.key",
        "index.key",
        "kek.key",
    }
    for path in created:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700


def test_the_kek_and_audit_key_can_live_elsewhere(tmp_path: Path) -> None:
    paths = _paths(
        tmp_path, kek_file=tmp_path / "vault" / "kek", audit_key_file=tmp_path / "audit" / "k"
    )
    create_missing_keys(paths)
    assert (tmp_path / "vault" / "kek").exists() and (tmp_path / "audit" / "k").exists()
    assert not (tmp_path / "keys" / "kek.key").exists()


def test_every_key_is_distinct(tmp_path: Path) -> None:
    create_missing_keys(_paths(tmp_path))
    keys = load_keys(_paths(tmp_path))
    values = [keys.web_secret, keys.credentials, keys.audit, keys.index]
    assert len(set(values)) == 4 and keys.keks.active_id


def test_existing_keys_are_never_replaced(tmp_path: Path) -> None:
    create_missing_keys(_paths(tmp_path))
    before = load_keys(_paths(tmp_path))
    assert create_missing_keys(_paths(tmp_path)) == []
    after = load_keys(_paths(tmp_path))
    assert (after.audit, after.keks.active_id) == (before.audit, before.keks.active_id)


def test_a_missing_key_file_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="missing; run `appliance init`"):
        load_keys(_paths(tmp_path))


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    create_missing_keys(_paths(tmp_path))
    (tmp_path / "keys" / "kek.key").chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_keys(_paths(tmp_path))


def test_a_truncated_key_file_is_refused(tmp_path: Path) -> None:
    create_missing_keys(_paths(tmp_path))
    (tmp_path / "keys" / "credentials.key").write_bytes(b"short")
    with pytest.raises(KeyFileError, match="expected 32"):
        load_keys(_paths(tmp_path))

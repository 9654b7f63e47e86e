from __future__ import annotations

import stat
from pathlib import Path

import pytest

from appliance.keyfiles import KeyFileError, create_missing_keys, load_keys


def test_key_files_are_created_readable_by_the_owner_only(tmp_path: Path) -> None:
    created = create_missing_keys(tmp_path / "keys")
    assert created
    for path in created:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700


def test_existing_keys_are_never_replaced(tmp_path: Path) -> None:
    create_missing_keys(tmp_path)
    before = load_keys(tmp_path)
    assert create_missing_keys(tmp_path) == []
    assert load_keys(tmp_path) == before


def test_a_missing_key_file_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="missing; run `appliance init`"):
        load_keys(tmp_path)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    create_missing_keys(tmp_path)
    (tmp_path / "web_secret.key").chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_keys(tmp_path)


def test_a_truncated_key_file_is_refused(tmp_path: Path) -> None:
    create_missing_keys(tmp_path)
    (tmp_path / "credentials.key").write_bytes(b"short")
    with pytest.raises(KeyFileError, match="expected 32"):
        load_keys(tmp_path)

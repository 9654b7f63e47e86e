"""Sealed files are written whole or not at all (appliance.records.whole_files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.records import whole_files
from appliance.records.whole_files import write_whole
from tests.box_faults import disk_full


def test_it_writes_the_file_whole(tmp_path: Path) -> None:
    write_whole(tmp_path / "a.sealed", b"x" * 100_000)
    assert (tmp_path / "a.sealed").read_bytes() == b"x" * 100_000
    assert [p.name for p in tmp_path.iterdir()] == ["a.sealed"]


def test_a_write_refused_for_lack_of_space_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise disk_full()

    monkeypatch.setattr(whole_files, "_write_all", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        write_whole(tmp_path / "a.sealed", b"x" * 100_000)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_fsync_leaves_nothing_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(_fd: int) -> None:
        raise disk_full()  # delayed allocation: some filesystems tell only at fsync

    monkeypatch.setattr(whole_files.os, "fsync", refused)
    with pytest.raises(OSError, match="No space left"):
        write_whole(tmp_path / "a.sealed", b"x" * 1000)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []

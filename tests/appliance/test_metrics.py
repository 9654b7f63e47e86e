"""The counts of several web processes: a private folder, emptied at each start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance.metrics import MULTIPROCESS_ENV, count_across_processes


def test_the_folder_of_counts_is_private_and_emptied_at_each_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROCESS_ENV, "")  # restored after the test
    first = count_across_processes(tmp_path)
    (first / "counter_4242.db").write_bytes(b"a count from the run before")
    again = count_across_processes(tmp_path)
    assert again == first and list(again.iterdir()) == []
    assert stat.S_IMODE(again.stat().st_mode) == 0o700
    assert os.environ[MULTIPROCESS_ENV] == str(again)

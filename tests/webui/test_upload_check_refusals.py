"""An upload whose sound check fails (its worker crashed, hit a limit or ran out of time) is
refused on the form in plain words: nothing is stored and no traceback is shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from speech_io import sound_check
from tests.conftest import Browser

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
PROBES = Path(__file__).resolve().parents[1] / "speech_io" / "worker_probes.py"


def test_a_recording_whose_check_runs_out_of_memory_is_refused_and_nothing_is_stored(
    signed_in: Callable[[str], Browser], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signed_in("alice")
    client_id = alice.add_client()
    monkeypatch.setattr(sound_check, "WORKER", (str(PROBES), "allocate"))  # wants 2 GiB
    recording = ("session.wav", (AUDIO / "hello.wav").read_bytes(), "audio/wav")
    response = alice.send_dictation(client_id, recording)
    assert response.status_code == 400
    assert "this recording could not be checked" in response.text
    assert "Nothing was saved" in response.text
    assert "Traceback" not in response.text and "MemoryError" not in response.text
    assert "No dictations yet." in alice.get(f"/clients/{client_id}").text

"""An upload's sound check runs before its unit of work: on SQLite, where one transaction at a
time may write, decoding a long recording must not keep every other writer waiting."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.records import dictations
from appliance.runtime import Appliance
from tests.conftest import Browser, People
from tests.wav import wav_bytes
from tests.webui.write_lock import SlowStep, assert_writers_carry_on


@pytest.mark.sqlite_only
def test_other_writers_carry_on_while_an_upload_is_being_checked(
    appliance: Appliance,
    people: People,
    signed_in: Callable[[str], Browser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np

    alice = signed_in("alice")
    client_id = alice.add_client()
    slow = SlowStep(dictations.has_sound_isolated)
    monkeypatch.setattr(dictations, "has_sound_isolated", slow)
    recording = ("session.wav", wav_bytes(np.full(16_000, 0.1)), "audio/wav")
    assert_writers_carry_on(
        appliance,
        people,
        slow,
        lambda: alice.send_dictation(client_id, recording),
        "an upload's sound check",
    )

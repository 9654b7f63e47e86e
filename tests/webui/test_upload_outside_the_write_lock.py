"""An upload's sound check runs before its unit of work: on SQLite, where one transaction at a
time may write, decoding a long recording must not keep every other writer waiting."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from appliance.identity.accounts import actor_for
from appliance.records import dictations
from appliance.records.clients import create_client
from appliance.runtime import Appliance
from tests.conftest import Browser, People
from tests.wav import wav_bytes


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
    checking, release = threading.Event(), threading.Event()
    real_has_sound = dictations.has_sound

    def slow_has_sound(*args: object, **kwargs: object) -> bool:
        checking.set()
        release.wait(timeout=30)  # as long as decoding an hour of audio might take
        return real_has_sound(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dictations, "has_sound", slow_has_sound)
    recording = ("session.wav", wav_bytes(np.full(16_000, 0.1)), "audio/wav")
    upload = threading.Thread(target=lambda: alice.send_dictation(client_id, recording))
    upload.start()
    try:
        assert checking.wait(timeout=10)
        wrote = threading.Event()

        def other_writer() -> None:
            with appliance.unit_of_work() as db:
                create_client(db, appliance.keys, actor_for(people.bob), display_name="B B")
            wrote.set()

        writer = threading.Thread(target=other_writer)
        writer.start()
        # Without the fix the writer waits on the upload's write lock for the whole check.
        assert wrote.wait(timeout=3), "a writer waited for an upload's sound check"
    finally:
        release.set()
        upload.join(timeout=30)
    writer.join(timeout=10)

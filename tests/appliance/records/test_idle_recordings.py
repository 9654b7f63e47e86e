"""Recordings nobody stops are ended by the periodic sweep: finished, or shredded by setting."""

from __future__ import annotations

import asyncio
import time

import pytest

from appliance.audit.chain import EventData
from appliance.audit.record import Outcome
from appliance.identity.accounts import actor_for
from appliance.jobs.dictation_stages import claim_next
from appliance.jobs.scheduler import start_periodic_tasks
from appliance.models import DataKey, Dictation
from appliance.records import audio_chunks
from appliance.records.idle_recordings import end_idle_recordings
from appliance.records.recordings import append_chunk
from appliance.runtime import Appliance
from tests.appliance.records.recordings_started import start_alices_recording
from tests.conftest import Clock, People
from tests.pcm import hello_pcm, split

CHUNKS = split(hello_pcm(), 1.0)


def _recording(appliance: Appliance, people: People, chunks: int) -> str:
    dictation_id = start_alices_recording(appliance, people)
    for n in range(chunks):
        _append(appliance, people, dictation_id, n)
    return dictation_id


def _append(appliance: Appliance, people: People, dictation_id: str, n: int) -> None:
    with appliance.unit_of_work() as db:
        append_chunk(
            db,
            appliance.keys,
            appliance.settings,
            actor_for(people.alice),
            dictation_id,
            n,
            CHUNKS[n],
        )


def _row(appliance: Appliance, dictation_id: str) -> Dictation:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
    assert row is not None
    return row


def _shred_on_idle(appliance: Appliance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        appliance,
        "settings",
        appliance.settings.model_copy(update={"recording_idle_action": "shred"}),
    )


def _key_shredded(appliance: Appliance, row: Dictation) -> bool:
    with appliance.unit_of_work() as db:
        key = db.get(DataKey, row.audio_key_id)
    assert key is not None
    return key.wrapped is None


def test_a_recording_idle_past_the_limit_is_finished_from_what_arrived(
    appliance: Appliance, people: People, frozen_clock: Clock, audit_events: list[EventData]
) -> None:
    dictation_id = _recording(appliance, people, chunks=2)
    frozen_clock.advance(minutes=30, seconds=1)
    assert end_idle_recordings(appliance).finished == 1
    row = _row(appliance, dictation_id)
    assert (row.state, row.chunks_received) == ("queued", 2)
    assert claim_next(appliance) == dictation_id  # the ordinary pipeline takes it from here
    finished = [e for e in audit_events if e.action == "dictation.finish"]
    assert [(e.actor_role, e.outcome, e.reason) for e in finished] == [
        ("system", Outcome.ALLOWED, "idle")
    ]


def test_a_recording_within_the_limit_is_left_alone(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    dictation_id = _recording(appliance, people, chunks=1)
    frozen_clock.advance(minutes=29)
    assert end_idle_recordings(appliance).finished == 0
    assert _row(appliance, dictation_id).state == "recording"


def test_every_chunk_restarts_the_idle_clock(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    dictation_id = _recording(appliance, people, chunks=1)
    frozen_clock.advance(minutes=20)
    _append(appliance, people, dictation_id, 1)
    frozen_clock.advance(minutes=20)  # 40 minutes since the start, 20 since the last chunk
    end_idle_recordings(appliance)
    assert _row(appliance, dictation_id).state == "recording"


def test_by_setting_an_idle_recording_is_shredded_and_fails_with_a_reason(
    appliance: Appliance,
    people: People,
    frozen_clock: Clock,
    audit_events: list[EventData],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _shred_on_idle(appliance, monkeypatch)
    dictation_id = _recording(appliance, people, chunks=2)
    frozen_clock.advance(minutes=31)
    assert end_idle_recordings(appliance).shredded == 1
    row = _row(appliance, dictation_id)
    assert row.state == "failed" and row.audio_deleted_at is not None
    assert row.status_message and "was deleted" in row.status_message
    assert _key_shredded(appliance, row)
    assert not audio_chunks.chunk_dir(appliance.settings.data_dir, dictation_id).exists()
    assert claim_next(appliance) is None
    events = [(e.action, e.outcome, e.reason) for e in audit_events if e.object_id == dictation_id]
    assert ("dictation.finish", Outcome.FAILED, "idle_shred") in events
    assert ("audio.shred", Outcome.ALLOWED, "idle") in events


def test_a_recording_that_received_nothing_is_ended_whatever_the_setting(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    dictation_id = _recording(appliance, people, chunks=0)
    frozen_clock.advance(minutes=31)
    assert end_idle_recordings(appliance).shredded == 1
    row = _row(appliance, dictation_id)
    assert row.state == "failed" and row.status_message and "No audio arrived" in row.status_message
    assert _key_shredded(appliance, row)


def test_the_sweep_runs_among_the_periodic_tasks(
    appliance: Appliance, people: People, frozen_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`appliance serve` starts it: no recording waits for a sweep nobody runs."""
    dictation_id = _recording(appliance, people, chunks=1)
    frozen_clock.advance(minutes=31)
    # The other tasks' work is not under test here; each would start with a round of its own.
    monkeypatch.setattr("appliance.jobs.scheduler.verify_and_record", lambda *_: None)
    monkeypatch.setattr("appliance.jobs.scheduler.enforce_transcript_retention", lambda _: None)
    monkeypatch.setattr("appliance.jobs.scheduler.expire_exports", lambda _: None)

    async def one_round() -> None:
        tasks = start_periodic_tasks(appliance)
        deadline = time.monotonic() + 15  # the first round, however slow a loaded machine is
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            if _row(appliance, dictation_id).state != "recording":
                break
        for task in tasks:
            task.cancel()

    asyncio.run(one_round())
    assert _row(appliance, dictation_id).state == "queued"

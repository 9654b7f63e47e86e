"""The recording page's live transcript: the text heard so far, for the recording's clinician
only, audited when it hands out text and silent when nothing is new."""

from __future__ import annotations

import pytest

from appliance.access import NotFound
from appliance.audit.chain import EventData
from appliance.identity.accounts import actor_for
from appliance.jobs import stretch_stage
from appliance.jobs.queue import work_while_claimed
from appliance.records.recordings import append_chunk, live_transcript
from appliance.runtime import Appliance
from tests.appliance.records.recordings_started import start_alices_recording
from tests.conftest import People
from tests.pcm import speechlike, split

PAUSES = {6.0: 0.4, 22.0: 0.6}


@pytest.fixture
def recording(
    appliance: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> tuple[Appliance, str]:
    """alice's recording, 31 s sent, its first stretch heard (as "[bytes heard]")."""

    def transcribe(_speech: object, audio: bytes, _format: str, _modality: str) -> str:
        return f"[{len(audio) - 44}]"

    monkeypatch.setattr(stretch_stage.pipeline, "transcribe", transcribe)
    dictation_id = start_alices_recording(appliance, people)
    alice = actor_for(people.alice)
    for n, chunk in enumerate(split(speechlike(31.0, PAUSES), 3.0)):
        with appliance.unit_of_work() as db:
            append_chunk(db, appliance.keys, appliance.settings, alice, dictation_id, n, chunk)
    assert stretch_stage.claim_next(appliance) == dictation_id
    work_while_claimed(appliance, stretch_stage.STRETCH_JOBS, dictation_id)
    return appliance, dictation_id


def test_the_clinician_sees_what_has_been_heard_and_when_its_audio_was_deleted(
    recording: tuple[Appliance, str], people: People, audit_events: list[EventData]
) -> None:
    appliance, dictation_id = recording
    with appliance.unit_of_work() as db:
        live = live_transcript(db, appliance.keys, actor_for(people.alice), dictation_id, 0)
    assert live.state == "recording" and live.stretches == 1
    assert live.text is not None and live.text.startswith("[") and live.text.endswith("]")
    assert 16.0 <= live.heard_seconds < live.received_seconds == pytest.approx(31.0)
    assert live.audio_shredded_at is not None
    views = [e for e in audit_events if e.action == "dictation.live_view"]
    assert [(v.object_id, v.outcome) for v in views] == [(dictation_id, "allowed")]


def test_a_poll_with_nothing_new_reads_no_text_and_records_nothing(
    recording: tuple[Appliance, str], people: People, audit_events: list[EventData]
) -> None:
    appliance, dictation_id = recording
    with appliance.unit_of_work() as db:
        live = live_transcript(db, appliance.keys, actor_for(people.alice), dictation_id, 1)
    assert live.text is None and live.stretches == 1
    assert [e for e in audit_events if e.action == "dictation.live_view"] == []


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_nobody_else_reads_a_recording_as_it_is_heard(
    recording: tuple[Appliance, str], people: People, audit_events: list[EventData], who: str
) -> None:
    appliance, dictation_id = recording
    with pytest.raises(NotFound), appliance.unit_of_work() as db:
        live_transcript(db, appliance.keys, actor_for(getattr(people, who)), dictation_id, 0)
    denied = [e for e in audit_events if e.outcome == "denied" and e.object_id == dictation_id]
    assert denied

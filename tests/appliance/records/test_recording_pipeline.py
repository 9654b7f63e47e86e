"""A stopped recording goes through the same pipeline as an upload: transcribed from its joined
chunks (a real speech service, tiny.en), its audio crypto-shredded, drafted by the stand-in LLM."""

from __future__ import annotations

import pytest

from appliance.audit.chain import EventData
from appliance.identity.accounts import actor_for
from appliance.jobs.dictation_stages import claim_next, process
from appliance.models import DataKey, Dictation
from appliance.records import audio_chunks
from appliance.records.dictations import State, get_dictation
from appliance.records.recordings import append_chunk, finish_recording
from appliance.runtime import Appliance
from model_server.wer import word_error_rate
from tests.appliance.records.recordings_started import start_alices_recording
from tests.conftest import People, submit_dictation
from tests.pcm import HELLO_TEXT, HELLO_WAV, hello_pcm, split


def _streamed(appliance: Appliance, people: People, chunk_seconds: float) -> str:
    """hello.wav streamed in chunks of `chunk_seconds` and stopped; the dictation's id."""
    alice = actor_for(people.alice)
    dictation_id = start_alices_recording(appliance, people)
    for n, chunk in enumerate(split(hello_pcm(), chunk_seconds)):
        with appliance.unit_of_work() as db:
            append_chunk(db, appliance.keys, appliance.settings, alice, dictation_id, n, chunk)
    with appliance.unit_of_work() as db:
        finish_recording(db, appliance.keys, alice, dictation_id)
    return dictation_id


def _transcribe_and_draft(appliance: Appliance, dictation_id: str) -> None:
    for _stage in ("transcribing", "drafting"):
        assert claim_next(appliance) == dictation_id
        process(appliance, dictation_id)


@pytest.fixture(scope="module")
def whole_file_transcript() -> list[str]:
    """What the same audio uploaded whole (hello.wav) is heard as, filled in once."""
    return []


@pytest.mark.parametrize("chunk_seconds", [0.7, 2.0])
def test_a_stopped_recording_is_transcribed_shredded_and_drafted(
    wired: Appliance,
    people: People,
    audit_events: list[EventData],
    chunk_seconds: float,
    whole_file_transcript: list[str],
) -> None:
    if not whole_file_transcript:
        uploaded = submit_dictation(wired, people, audio=HELLO_WAV.read_bytes())
        _transcribe_and_draft(wired, uploaded)
        with wired.unit_of_work() as db:
            whole = get_dictation(db, wired.keys, actor_for(people.alice), uploaded).transcript
        assert whole is not None and word_error_rate(HELLO_TEXT, whole) <= 0.45
        whole_file_transcript.append(whole)
    dictation_id = _streamed(wired, people, chunk_seconds)
    _transcribe_and_draft(wired, dictation_id)
    with wired.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        audio_key = db.get(DataKey, row.audio_key_id)
        view = get_dictation(db, wired.keys, actor_for(people.alice), dictation_id)
    assert view.state == State.READY and view.draft is not None
    # Heard exactly as the same samples sent whole: nothing lost or doubled at a chunk's edge.
    assert view.transcript == whole_file_transcript[0]
    assert audio_key is not None and audio_key.wrapped is None  # crypto-shredded
    assert view.audio_deleted_at is not None
    assert not audio_chunks.chunk_dir(wired.settings.data_dir, dictation_id).exists()
    actions = [
        e.action
        for e in audit_events
        if e.object_id == dictation_id and e.action not in ("dictation.chunk", "dictation.view")
    ]
    assert actions == [
        "dictation.create",
        "dictation.finish",
        "dictation.transcribe",
        "audio.shred",
        "dictation.draft",
    ]

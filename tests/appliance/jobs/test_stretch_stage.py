"""A streamed recording is heard a stretch at a time while it is still being recorded, and each
stretch's audio is crypto-shredded as soon as its text is stored.

The first test uses the real speech service (faster-whisper tiny.en) on a committed dictation;
the others put a stand-in for the speech call, which answers with how many bytes it heard, so
that what was heard twice or not at all shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from appliance.audit.chain import EventData
from appliance.identity.accounts import actor_for
from appliance.inference.speech import SpeechRejected, SpeechUnavailable
from appliance.jobs import dictation_stages, stretch_stage
from appliance.jobs.queue import work_while_claimed
from appliance.models import DataKey, Dictation, RecordingChunk
from appliance.records import audio_chunks
from appliance.records.dictations import State, get_dictation, read_partial
from appliance.records.idle_recordings import end_idle_recordings
from appliance.records.pcm_stream import as_wav as wav_bytes_of
from appliance.records.recordings import append_chunk, finish_recording
from appliance.runtime import Appliance
from model_server.wer import word_error_rate
from speech_io.audio import decode
from speech_io.protocol import SpeechErrorCode
from speech_io.stretches import BYTES_PER_SECOND
from tests.appliance.records.recordings_started import start_alices_recording
from tests.conftest import Clock, People, submit_dictation
from tests.pcm import speechlike, split

DICTATIONS = Path(__file__).resolve().parents[2] / "fixtures" / "dictations"
# Pauses where a stand-in recording may be cut: a long one near where the first stretch is due.
PAUSES = {6.0: 0.4, 22.0: 0.6, 40.0: 0.3, 50.0: 0.6, 56.0: 0.5}


def _row(appliance: Appliance, dictation_id: str) -> Dictation:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
    assert row is not None
    return row


def _send(appliance: Appliance, people: People, dictation_id: str, chunks: list[bytes]) -> None:
    alice = actor_for(people.alice)
    first = _row(appliance, dictation_id).chunks_received
    for n, chunk in enumerate(chunks, start=first):
        with appliance.unit_of_work() as db:
            append_chunk(db, appliance.keys, appliance.settings, alice, dictation_id, n, chunk)


def _stop(appliance: Appliance, people: People, dictation_id: str) -> None:
    with appliance.unit_of_work() as db:
        finish_recording(db, appliance.keys, actor_for(people.alice), dictation_id)


def _hear_due_stretches(appliance: Appliance) -> int:
    """What workers would do between two chunks: every stretch that is due, heard."""
    heard = 0
    while (claimed := stretch_stage.claim_next(appliance)) is not None:
        work_while_claimed(appliance, stretch_stage.STRETCH_JOBS, claimed)
        heard += 1
    return heard


def _stream(appliance: Appliance, people: People, pcm: bytes) -> str:
    """`pcm` sent in 3-second chunks, due stretches heard after each; not stopped."""
    dictation_id = start_alices_recording(appliance, people)
    for chunk in split(pcm, 3.0):
        _send(appliance, people, dictation_id, [chunk])
        _hear_due_stretches(appliance)
    return dictation_id


def _finish(appliance: Appliance, dictation_id: str) -> None:
    for _stage in ("transcribing", "drafting"):
        assert dictation_stages.claim_next(appliance) == dictation_id
        dictation_stages.process(appliance, dictation_id)


def _chunk_keys(appliance: Appliance, dictation_id: str) -> list[tuple[RecordingChunk, bool]]:
    """Each chunk, and whether its key still exists."""
    with appliance.unit_of_work() as db:
        chunks = db.exec(
            select(RecordingChunk)
            .where(RecordingChunk.dictation_id == dictation_id)
            .order_by(RecordingChunk.sequence)  # type: ignore[arg-type]
        ).all()
        return [(c, db.get(DataKey, c.data_key_id).wrapped is not None) for c in chunks]  # type: ignore[union-attr]


def _pcm_of(name: str) -> bytes:
    samples = decode((DICTATIONS / name).read_bytes(), max_seconds=600).samples
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def test_a_recording_is_heard_while_it_goes_on_and_its_heard_audio_shredded_at_once(
    wired: Appliance, people: People, audit_events: list[EventData]
) -> None:
    pcm = _pcm_of("cbt-01.opus")  # 48 s of espeak-ng dictation
    dictation_id = _stream(wired, people, pcm)
    row = _row(wired, dictation_id)
    assert row.state == State.RECORDING and row.stretches_transcribed >= 1
    heard = row.transcribed_bytes
    assert heard >= 16 * BYTES_PER_SECOND
    # Zero retention while still recording: every chunk wholly heard has no key and no file.
    for chunk, key_alive in _chunk_keys(wired, dictation_id):
        wholly_heard = chunk.start_byte + chunk.byte_count <= heard
        assert key_alive is not wholly_heard, chunk.sequence
        sealed = audio_chunks.chunk_dir(wired.settings.data_dir, dictation_id)
        assert (sealed / f"{chunk.sequence:06d}.sealed").exists() is not wholly_heard
    assert row.stretch_shredded_at is not None
    with wired.unit_of_work() as db:
        so_far = read_partial(db, wired.keys, row)
    assert len(so_far.split()) >= 25

    _stop(wired, people, dictation_id)
    _finish(wired, dictation_id)
    with wired.unit_of_work() as db:
        view = get_dictation(db, wired.keys, actor_for(people.alice), dictation_id)
        row = db.get(Dictation, dictation_id)
        assert row is not None
        audio_key = db.get(DataKey, row.audio_key_id)
    assert view.state == State.READY and view.transcript is not None
    assert view.transcript.startswith(so_far)
    assert row.partial_transcript_sealed is None  # kept once, as the transcript
    assert audio_key is not None and audio_key.wrapped is None
    assert all(not alive for _chunk, alive in _chunk_keys(wired, dictation_id))
    assert not audio_chunks.chunk_dir(wired.settings.data_dir, dictation_id).exists()
    # As good as the same audio sent whole (make eval measures this on every dictation).
    uploaded = submit_dictation(wired, people, audio=wav_bytes_of(pcm))
    assert dictation_stages.claim_next(wired) == uploaded
    dictation_stages.process(wired, uploaded)
    with wired.unit_of_work() as db:
        whole = get_dictation(db, wired.keys, actor_for(people.alice), uploaded).transcript
    assert whole is not None
    script = (DICTATIONS / "cbt-01.txt").read_text()
    assert word_error_rate(script, view.transcript) <= word_error_rate(script, whole) + 0.03
    stretch_events = [
        e for e in audit_events if e.object_id == dictation_id and e.reason == "stretch"
    ]
    assert [e.action for e in stretch_events[:2]] == ["dictation.transcribe", "audio.shred"]


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The speech call replaced: each call's audio length (WAV header off), answered as text."""
    lengths: list[int] = []

    def transcribe(_speech: object, audio: bytes, _format: str, _modality: str) -> str:
        lengths.append(len(audio) - 44)
        return f"[{len(audio) - 44}]"

    monkeypatch.setattr(stretch_stage.pipeline, "transcribe", transcribe)
    return lengths


def test_every_byte_is_heard_exactly_once_across_the_stretches_and_the_tail(
    appliance: Appliance, people: People, heard: list[int]
) -> None:
    pcm = speechlike(62.0, PAUSES)
    dictation_id = _stream(appliance, people, pcm)
    assert len(heard) >= 2
    _stop(appliance, people, dictation_id)
    assert dictation_stages.claim_next(appliance) == dictation_id
    dictation_stages.process(appliance, dictation_id)
    assert sum(heard) == len(pcm)
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        view = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
    assert view.transcript == " ".join(f"[{n}]" for n in heard)
    assert row.state == State.DRAFTING


def test_stop_waits_for_the_stretch_being_heard_instead_of_hearing_it_twice(
    appliance: Appliance, people: People, heard: list[int]
) -> None:
    dictation_id = start_alices_recording(appliance, people)
    pcm = speechlike(31.0, PAUSES)
    _send(appliance, people, dictation_id, split(pcm, 3.0))
    assert stretch_stage.claim_next(appliance) == dictation_id
    _stop(appliance, people, dictation_id)  # while the stretch is claimed
    assert dictation_stages.claim_next(appliance) is None
    work_while_claimed(appliance, stretch_stage.STRETCH_JOBS, dictation_id)
    assert dictation_stages.claim_next(appliance) == dictation_id
    dictation_stages.process(appliance, dictation_id)
    assert sum(heard) == len(pcm) and len(heard) == 2


def test_a_stretch_heard_by_a_worker_whose_claim_went_stale_is_dropped(
    appliance: Appliance, people: People, heard: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    dictation_id = start_alices_recording(appliance, people)
    _send(appliance, people, dictation_id, split(speechlike(31.0, PAUSES), 3.0))
    real_store = stretch_stage._store

    def late_store(app: Appliance, job: str, start: int, cut: int, text: str) -> None:
        real_store(app, job, start, cut, text)  # the worker that took over stores first
        real_store(app, job, start, cut, "heard again")

    monkeypatch.setattr(stretch_stage, "_store", late_store)
    assert _hear_due_stretches(appliance) == 1
    row = _row(appliance, dictation_id)
    with appliance.unit_of_work() as db:
        assert read_partial(db, appliance.keys, row) == f"[{heard[0]}]"
    assert row.stretches_transcribed == 1


def _failing_speech(monkeypatch: pytest.MonkeyPatch, error: Exception) -> list[int]:
    calls: list[int] = []

    def transcribe(_speech: object, audio: bytes, _format: str, _modality: str) -> str:
        calls.append(len(audio))
        raise error

    monkeypatch.setattr(stretch_stage.pipeline, "transcribe", transcribe)
    return calls


def test_with_the_speech_service_down_chunks_keep_arriving_and_stop_hears_them_all(
    appliance: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _failing_speech(monkeypatch, SpeechUnavailable("ConnectError"))
    pcm = speechlike(62.0, PAUSES)
    dictation_id = _stream(appliance, people, pcm)
    row = _row(appliance, dictation_id)
    assert calls and row.transcribed_bytes == 0 and row.audio_bytes == len(pcm)
    assert row.claimed_at is None and row.next_attempt_at > row.last_chunk_at  # type: ignore[operator]
    assert all(alive for _chunk, alive in _chunk_keys(appliance, dictation_id))
    monkeypatch.undo()
    lengths: list[int] = []

    def transcribe(_speech: object, audio: bytes, _format: str, _modality: str) -> str:
        lengths.append(len(audio) - 44)
        return "all of it"

    monkeypatch.setattr(stretch_stage.pipeline, "transcribe", transcribe)
    _stop(appliance, people, dictation_id)
    assert dictation_stages.claim_next(appliance) == dictation_id
    dictation_stages.process(appliance, dictation_id)
    assert lengths == [len(pcm)] and _row(appliance, dictation_id).state == State.DRAFTING


@pytest.mark.parametrize("code", [SpeechErrorCode.SILENT, SpeechErrorCode.NO_SPEECH])
def test_a_stretch_with_nothing_to_hear_is_shredded_with_no_text(
    appliance: Appliance, people: People, monkeypatch: pytest.MonkeyPatch, code: SpeechErrorCode
) -> None:
    _failing_speech(monkeypatch, SpeechRejected(422, code.value))
    dictation_id = start_alices_recording(appliance, people)
    _send(appliance, people, dictation_id, split(speechlike(31.0, PAUSES), 3.0))
    assert _hear_due_stretches(appliance) == 1
    row = _row(appliance, dictation_id)
    assert row.stretches_transcribed == 1 and row.transcribed_bytes > 0
    with appliance.unit_of_work() as db:
        assert read_partial(db, appliance.keys, row) == ""
    assert not _chunk_keys(appliance, dictation_id)[0][1]


def test_the_pause_before_stop_is_no_failure_once_something_was_heard(
    appliance: Appliance, people: People, monkeypatch: pytest.MonkeyPatch, heard: list[int]
) -> None:
    dictation_id = _stream(appliance, people, speechlike(31.0, PAUSES))
    assert len(heard) == 1
    _failing_speech(monkeypatch, SpeechRejected(422, SpeechErrorCode.NO_SPEECH.value))
    _stop(appliance, people, dictation_id)
    assert dictation_stages.claim_next(appliance) == dictation_id
    dictation_stages.process(appliance, dictation_id)
    with appliance.unit_of_work() as db:
        view = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
    assert view.state == State.DRAFTING and view.transcript == f"[{heard[0]}]"


def test_a_recording_not_yet_due_is_not_claimed(
    appliance: Appliance, people: People, heard: list[int]
) -> None:
    dictation_id = start_alices_recording(appliance, people)
    _send(appliance, people, dictation_id, split(speechlike(25.0, PAUSES), 3.0))
    assert stretch_stage.claim_next(appliance) is None and heard == []


def test_a_stretch_that_crashes_leaves_the_recording_going(
    appliance: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_speech(monkeypatch, RuntimeError("a bug"))
    dictation_id = start_alices_recording(appliance, people)
    _send(appliance, people, dictation_id, split(speechlike(31.0, PAUSES), 3.0))
    claimed = stretch_stage.claim_next(appliance)
    assert claimed == dictation_id
    crash: Callable[[], None] = lambda: work_while_claimed(  # noqa: E731
        appliance, stretch_stage.STRETCH_JOBS, dictation_id
    )
    with pytest.raises(RuntimeError):
        crash()
    stretch_stage.crashed(appliance, dictation_id, RuntimeError("a bug"))
    row = _row(appliance, dictation_id)
    assert row.state == State.RECORDING and row.claimed_at is None and row.crashes == 0
    _send(appliance, people, dictation_id, split(speechlike(3.0, {}), 3.0))
    assert _row(appliance, dictation_id).chunks_received == 12


def test_an_idle_recording_shredded_by_setting_loses_its_heard_text_and_every_chunk_key(
    appliance: Appliance,
    people: People,
    heard: list[int],
    frozen_clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    update = {"recording_idle_action": "shred"}
    monkeypatch.setattr(appliance, "settings", appliance.settings.model_copy(update=update))
    dictation_id = _stream(appliance, people, speechlike(31.0, PAUSES))
    assert len(heard) == 1 and _row(appliance, dictation_id).partial_transcript_sealed
    frozen_clock.advance(minutes=31)
    assert end_idle_recordings(appliance).shredded == 1
    row = _row(appliance, dictation_id)
    assert row.state == State.FAILED and row.partial_transcript_sealed is None
    assert not any(alive for _chunk, alive in _chunk_keys(appliance, dictation_id))
    assert not audio_chunks.chunk_dir(appliance.settings.data_dir, dictation_id).exists()

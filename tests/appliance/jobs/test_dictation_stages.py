"""The durable transcription pipeline against a real speech service (faster-whisper tiny.en)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

from appliance.audit.chain import EventData
from appliance.drafting import placement
from appliance.drafting.draft import Draft
from appliance.drafting.risk import is_risk_sentence
from appliance.drafting.segment import Sentence
from appliance.drafting.vocabulary import speech_vocabulary
from appliance.identity.accounts import actor_for
from appliance.inference.speech import SpeechClient, SpeechRejected
from appliance.jobs import dictation_stages
from appliance.jobs.dictation_stages import DICTATION_JOBS, claim_next, process
from appliance.jobs.queue import MAX_BACKOFF_SECONDS, Workers, lease
from appliance.models import DataKey, Dictation
from appliance.records.dictations import State, get_dictation, retry_dictation
from appliance.runtime import Appliance
from model_server.bundled import whisper_tiny_en_dir
from model_server.engines.faster_whisper_engine import FasterWhisperEngine
from model_server.wer import word_error_rate
from speech_io.protocol import SpeechErrorCode
from tests.appliance.drafting.readers import Undecided
from tests.conftest import Clock, People, submit_dictation
from tests.fake_llm import FakeLLM
from tests.model_server.conftest import MODEL_ID, RecordingEngine, ServerThread, make_service
from tests.served_app import free_port
from tests.wav import wav_bytes

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
HELLO = (AUDIO / "hello.txt").read_text()
# hello.txt in a neural voice (Piper; see tests/fixtures/audio/README.md): for the tests that
# look at what Whisper wrote. The espeak-ng clips' transcripts change with the machine's CPU
# (on an AVX2-only one, "PHQ-9 score of" came back "PHQ Hines Cora"); make eval keeps espeak-ng
# as its hard case.
SPOKEN = "hello.piper.wav"


def _queue(appliance: Appliance, people: People, name: str = "hello.m4a") -> str:
    return submit_dictation(appliance, people, audio=(AUDIO / name).read_bytes())


def _row(appliance: Appliance, dictation_id: str) -> Dictation:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
    assert row is not None
    return row


def test_a_queued_dictation_is_transcribed_and_its_audio_shredded(
    wired: Appliance, people: People, audit_events: list[EventData]
) -> None:
    dictation_id = _queue(wired, people, SPOKEN)
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)
    row = _row(wired, dictation_id)
    assert row.state == State.DRAFTING and row.audio_deleted_at is not None
    assert not (wired.settings.data_dir / "audio" / f"{dictation_id}.sealed").exists()
    with wired.unit_of_work() as db:
        audio_key = db.get(DataKey, row.audio_key_id)
        assert audio_key is not None and audio_key.wrapped is None  # crypto-shredded
        view = get_dictation(db, wired.keys, actor_for(people.alice), dictation_id)
    assert view.transcript is not None and word_error_rate(HELLO, view.transcript) <= 0.45
    actions = [e.action for e in audit_events if e.object_id == dictation_id]
    assert actions[:3] == ["dictation.create", "dictation.transcribe", "audio.shred"]


def test_whisper_is_told_the_vocabulary_of_the_dictations_modality(
    appliance: Appliance, people: People, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = RecordingEngine(
        FasterWhisperEngine(whisper_tiny_en_dir(), device="cpu", cpu_threads=0, beam_size=1)
    )
    with ServerThread(make_service(engine)) as server:  # type: ignore[arg-type]
        monkeypatch.setattr(
            appliance,
            "settings",
            appliance.settings.model_copy(
                update={"speech_url": server.base_url, "speech_model": MODEL_ID}
            ),
        )
        dictation_id = _queue(appliance, people)  # a CBT dictation
        assert claim_next(appliance) == dictation_id
        process(appliance, dictation_id)
    assert [o.hotwords for o in engine.options] == [speech_vocabulary("cbt")]
    assert "Socratic questioning" in speech_vocabulary("cbt")
    assert "exile" not in speech_vocabulary("cbt")  # another modality's term is no hint here


def test_with_the_speech_service_down_jobs_wait_and_then_finish(
    appliance: Appliance,
    people: People,
    speech_url: str,
    frozen_clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setattr(
        appliance,
        "settings",
        appliance.settings.model_copy(update={"speech_url": down, "speech_model": MODEL_ID}),
    )
    dictation_id = _queue(appliance, people)
    for attempt in (1, 2):
        assert claim_next(appliance) == dictation_id
        process(appliance, dictation_id)
        row = _row(appliance, dictation_id)
        assert row.state == State.QUEUED and row.attempts == attempt
        assert row.status_message and "Waiting for the speech service" in row.status_message
        assert claim_next(appliance) is None, "retried before its backoff"
        frozen_clock.advance(seconds=61)
    monkeypatch.setattr(
        appliance, "settings", appliance.settings.model_copy(update={"speech_url": speech_url})
    )
    assert claim_next(appliance) == dictation_id
    process(appliance, dictation_id)
    assert _row(appliance, dictation_id).state == State.DRAFTING


def test_a_job_whose_worker_died_is_taken_over_after_the_lease(
    wired: Appliance, people: People, frozen_clock: Clock
) -> None:
    dictation_id = _queue(wired, people)
    assert claim_next(wired) == dictation_id  # ...and then the server is killed
    assert claim_next(wired) is None, "a live claim is not taken twice"
    frozen_clock.advance(seconds=lease(wired).total_seconds() + 1)
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)
    assert _row(wired, dictation_id).state == State.DRAFTING


def _refused(code: str, status: int = 400) -> Callable[..., str]:
    def transcribe(*_args: object, **_kwargs: object) -> str:
        raise SpeechRejected(status, code)

    return transcribe


def test_a_recording_the_speech_service_refuses_fails_with_a_reason_and_is_shredded(
    wired: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The form decodes every upload first, so this is a speech service that reads audio
    # differently: the same bytes would be refused again, and PHI must not wait for nothing.
    dictation_id = _queue(wired, people)
    monkeypatch.setattr(SpeechClient, "transcribe", _refused(SpeechErrorCode.CORRUPT))
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)
    row = _row(wired, dictation_id)
    assert row.state == State.FAILED
    assert (
        row.status_message == "The recording is damaged or incomplete. Record or upload it again."
    )
    assert row.audio_deleted_at is not None
    assert not (wired.settings.data_dir / "audio" / f"{dictation_id}.sealed").exists()
    with wired.unit_of_work() as db:
        audio_key = db.get(DataKey, row.audio_key_id)
        assert audio_key is not None and audio_key.wrapped is None
        assert not get_dictation(db, wired.keys, actor_for(people.alice), dictation_id).retryable
        retry_dictation(db, wired.keys, actor_for(people.alice), dictation_id)
    assert _row(wired, dictation_id).state == State.FAILED  # nothing left to retry


def test_a_configuration_refusal_keeps_the_audio_for_a_retry(
    wired: Appliance, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    dictation_id = _queue(wired, people)
    monkeypatch.setattr(SpeechClient, "transcribe", _refused(SpeechErrorCode.MODEL_NOT_FOUND, 404))
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)
    row = _row(wired, dictation_id)
    assert row.state == State.FAILED and row.audio_deleted_at is None
    assert row.status_message == "The speech service refused the recording (HTTP 404)."
    with wired.unit_of_work() as db:
        assert get_dictation(db, wired.keys, actor_for(people.alice), dictation_id).retryable
        retry_dictation(db, wired.keys, actor_for(people.alice), dictation_id)
    assert _row(wired, dictation_id).state == State.QUEUED


def test_sound_without_speech_fails_as_no_speech_and_is_shredded(
    wired: Appliance, people: People
) -> None:
    rng = np.random.default_rng(3)
    hiss = rng.standard_normal(16_000 * 4) * 0.05  # about -26 dBFS: a live microphone, no voice
    dictation_id = submit_dictation(wired, people, audio=wav_bytes(hiss))
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)
    row = _row(wired, dictation_id)
    assert row.state == State.FAILED
    assert row.status_message == "No speech was heard in the recording. Record or upload it again."
    assert row.audio_deleted_at is not None and row.transcript_sealed is None


def test_workers_drain_the_queue_without_doing_any_job_twice(
    wired: Appliance, people: People, audit_events: list[EventData]
) -> None:
    ids = [_queue(wired, people, name) for name in ("hello.m4a", "hello.wav", "hello.ogg")]
    workers = Workers(wired, [DICTATION_JOBS], count=2, idle_seconds=0.05)
    workers.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with wired.unit_of_work() as db:
                states = {r.state for r in db.exec(select(Dictation))}
            if states == {State.READY.value}:
                break
            time.sleep(0.2)
    finally:
        workers.stop()
    assert states == {State.READY.value}
    transcribed = [e.object_id for e in audit_events if e.action == "dictation.transcribe"]
    assert sorted(transcribed) == sorted(ids)


def test_a_transcript_is_drafted_with_provenance_and_sealed(
    wired: Appliance, people: People, llm: FakeLLM
) -> None:
    dictation_id = _queue(wired, people, SPOKEN)
    for _ in range(2):  # transcribe, then draft
        assert claim_next(wired) == dictation_id
        process(wired, dictation_id)
    row = _row(wired, dictation_id)
    assert row.state == State.READY and row.draft_sealed is not None
    assert b"suicidal" not in row.draft_sealed
    with wired.unit_of_work() as db:
        view = get_dictation(db, wired.keys, actor_for(people.alice), dictation_id)
    assert view.draft is not None and view.transcript is not None
    statements = [s for _, s in view.draft.statements()]
    assert statements and all(s.provenance for s in statements)
    for statement in statements:
        for span in statement.provenance:
            assert view.transcript[span.start : span.end] == span.text
    assert "suicidal" in " ".join(s.text for s in view.draft.sections["risk"]).lower()


def test_with_the_language_model_down_drafting_waits(
    wired: Appliance, people: People, monkeypatch: pytest.MonkeyPatch, frozen_clock: Clock
) -> None:
    dictation_id = _queue(wired, people)
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)  # transcribed
    down = f"http://127.0.0.1:{free_port()}/v1"
    live = wired.settings
    monkeypatch.setattr(wired, "settings", live.model_copy(update={"llm_url": down}))
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)
    row = _row(wired, dictation_id)
    assert row.state == State.DRAFTING and row.draft_sealed is None
    assert row.status_message and "Waiting for the language model" in row.status_message
    monkeypatch.setattr(wired, "settings", live)
    frozen_clock.advance(seconds=61)
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)
    assert _row(wired, dictation_id).state == State.READY


SLEEP = "Client reported sleeping six hours most nights."
TYPED = f"{SLEEP} Her sister visited on Sunday. She denies SI."


def _draft_typed(appliance: Appliance, people: People, text: str = TYPED) -> Draft:
    dictation_id = submit_dictation(appliance, people, typed_text=text)
    assert claim_next(appliance) == dictation_id
    process(appliance, dictation_id)
    with appliance.unit_of_work() as db:
        view = get_dictation(db, appliance.keys, actor_for(people.alice), dictation_id)
    assert view.draft is not None
    return view.draft


def test_a_writer_class_model_rewrites_the_draft_with_provenance(
    wired: Appliance, people: People, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        wired, "settings", wired.settings.model_copy(update={"llm_class": "writer"})
    )
    better = "The client reported sleeping six hours most nights."
    monkeypatch.setitem(llm.rewrites, SLEEP, better)
    draft = _draft_typed(wired, people)
    written = [s for _, s in draft.statements() if s.written_by == "model"]
    assert [s.text for s in written] == [better]
    assert written[0].source_text == written[0].provenance[0].text == SLEEP
    assert draft.rewrite is not None
    assert draft.rewrite["accepted"] == 1 and draft.rewrite["llm_class"] == "writer"


def test_the_router_class_never_asks_the_model_to_write(
    wired: Appliance, people: People, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert wired.settings.llm_class == "router"
    # A placement classifier with no view, so that the router is asked where sentences go.
    monkeypatch.setattr(placement, "_shared", Undecided())
    llm.requests.clear()
    draft = _draft_typed(wired, people)
    assert llm.asked("section"), "the model was not asked at all"
    assert llm.asked("text") == []
    assert draft.rewrite is None
    assert all(s.written_by == "clinician" for _, s in draft.statements())


# A typed note in clinicians' shorthand (issue 14), one line a statement.
SHORTHAND = "Pt c/o poor sleep x2 wks.\nSI/HI denied.\nHW: thought record daily.\nF/u in 2 wks."


def test_a_typed_shorthand_note_is_drafted_in_the_clinicians_words_and_understood(
    wired: Appliance, people: People
) -> None:
    denied = _draft_typed(wired, people, SHORTHAND)
    assert [s.text for s in denied.sections["risk"]] == ["SI/HI denied."]
    assert [f.code for f in denied.flags if f.code.startswith("risk")] == []
    assert [s.text for s in denied.sections["plan"]] == [
        "HW: thought record daily.",
        "F/u in 2 wks.",
    ]
    assert [v.value for v in denied.fields["homework"]] == ["thought record daily"]
    reported = _draft_typed(wired, people, SHORTHAND.replace("SI/HI denied.", "+SI, no plan."))
    [risk] = reported.sections["risk"]
    assert risk.text == "+SI, no plan."
    flags = [(f.code, f.statement) for f in reported.flags if f.code.startswith("risk")]
    assert flags == [("risk_reported", risk.id)]


def test_a_late_refusal_does_not_undo_a_transcription_another_worker_finished(
    wired: Appliance, people: People
) -> None:
    dictation_id = _queue(wired, people)
    assert claim_next(wired) == dictation_id
    process(wired, dictation_id)  # this worker transcribed it...
    assert _row(wired, dictation_id).state == State.DRAFTING
    # ...while a stale one, whose lease was taken over, only now hears a refusal.
    dictation_stages._fail(wired, dictation_id, SpeechRejected(200, SpeechErrorCode.NO_SPEECH))
    row = _row(wired, dictation_id)
    assert row.state == State.DRAFTING and row.transcript_sealed is not None


STUCK = " ".join(f"Stuck on sentence {n}." for n in range(20))


def test_a_draft_past_its_time_limit_fails_with_a_reason_and_frees_the_worker(
    wired: Appliance,
    people: People,
    audit_events: list[EventData],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Well above a normal draft of these few sentences even on a loaded 2-core machine (0.5 s
    # failed the healthy dictation once while a converge ran beside the suite), well below the
    # stuck one's 20 s.
    monkeypatch.setattr(dictation_stages, "DRAFTING_TIME_LIMIT_SECONDS", 3.0)
    stuck = True

    def slow_is_risk_sentence(sentence: Sentence) -> bool:
        if stuck and sentence.text.startswith("Stuck"):
            time.sleep(1.0)  # a stage gone slow: 20 s for this dictation without a limit
        return is_risk_sentence(sentence)

    monkeypatch.setattr("appliance.drafting.draft.is_risk_sentence", slow_is_risk_sentence)
    stuck_id = submit_dictation(wired, people, typed_text=STUCK)
    next_id = submit_dictation(wired, people, typed_text=TYPED)
    workers = Workers(wired, [DICTATION_JOBS], count=1, idle_seconds=0.05)
    started = time.monotonic()
    workers.start()
    try:
        while time.monotonic() - started < 30 and _row(wired, next_id).state != State.READY:
            time.sleep(0.1)
    finally:
        workers.stop()
    # The one worker gave the stuck dictation up (failed at the limit, below) and went on.
    assert _row(wired, next_id).state == State.READY
    row = _row(wired, stuck_id)
    assert row.state == State.FAILED and row.claimed_at is None
    assert row.status_message == dictation_stages.DRAFTING_TIMED_OUT  # fixed, never the text
    failed = [e for e in audit_events if e.object_id == stuck_id and e.action == "dictation.draft"]
    assert [(e.outcome, e.reason) for e in failed] == [("failed", "time_limit")]
    # The transcript is kept, so Retry drafts it again.
    with wired.unit_of_work() as db:
        view = get_dictation(db, wired.keys, actor_for(people.alice), stuck_id)
        assert view.retryable and view.transcript == STUCK
        retry_dictation(db, wired.keys, actor_for(people.alice), stuck_id)
    stuck = False
    assert claim_next(wired) == stuck_id
    process(wired, stuck_id)
    assert _row(wired, stuck_id).state == State.READY


def test_a_stage_that_keeps_crashing_fails_with_a_reason_instead_of_being_retried_for_ever(
    wired: Appliance,
    people: People,
    audit_events: list[EventData],
    monkeypatch: pytest.MonkeyPatch,
    frozen_clock: Clock,
) -> None:
    broken = True
    real_draft = dictation_stages.pipeline.draft

    def draft_with_a_bug(*args: object, **kwargs: object) -> Draft:
        if broken:
            raise KeyError("a bug in drafting")
        return real_draft(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dictation_stages.pipeline, "draft", draft_with_a_bug)
    dictation_id = submit_dictation(wired, people, typed_text=TYPED)
    workers = Workers(wired, [DICTATION_JOBS], count=1)
    tries = 0
    while _row(wired, dictation_id).state != State.FAILED and tries < 10:
        frozen_clock.advance(seconds=MAX_BACKOFF_SECONDS + 1)
        assert workers.run_once()  # the backoff is over: claimed again at once, no lease wait
        tries += 1
    row = _row(wired, dictation_id)
    assert tries == dictation_stages.MAX_CRASHES and row.crashes == dictation_stages.MAX_CRASHES
    assert row.status_message == dictation_stages.CRASHED.format(n=dictation_stages.MAX_CRASHES)
    assert not workers.run_once()  # nothing left that a worker would take
    failed = [e for e in audit_events if e.object_id == dictation_id and e.outcome == "failed"]
    assert [(e.action, e.reason) for e in failed] == [("dictation.draft", "internal_error")]
    # Retry starts the count again, and once the bug is gone the note is drafted.
    broken = False
    with wired.unit_of_work() as db:
        retry_dictation(db, wired.keys, actor_for(people.alice), dictation_id)
    assert workers.run_once()
    assert _row(wired, dictation_id).state == State.READY

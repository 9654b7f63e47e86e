"""Workers that turn dictations into transcripts and drafts, durably.

A job is a `dictations` row with two stages: transcribing (queued -> transcribing) and drafting
(drafting, claimed or not). Claiming is atomic (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite
serialises writers), so several processes can share one database and no dictation is worked
twice. A worker renews its claim while it works; a claim not renewed for the lease
(APPLIANCE_JOB_LEASE_SECONDS) belongs to a dead worker (killed server) and is taken over, so a
restart at any moment loses nothing. When a model service is down, jobs wait and retry with
backoff instead of failing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import col, or_, select

from appliance import audio_store, clock
from appliance.audit import Outcome, record_by
from appliance.dictations import TABLE, State, read_transcript, store_transcript
from appliance.envelope import crypto_shred, open_record_key, seal
from appliance.metrics import JOB_STAGE_SECONDS
from appliance.models import Dictation
from appliance.notes.custom_formats import format_from_snapshot
from appliance.notes.draft import build_draft
from appliance.notes.formats import NoteFormat
from appliance.notes.llm_router import LLMSectionClassifier
from appliance.notes.rewrite import rewrite_draft, writer_for
from appliance.notes.vocabulary import speech_vocabulary
from appliance.runtime import Appliance
from appliance.speech_client import SpeechRejected, SpeechUnavailable, transcribe

logger = logging.getLogger("appliance.jobs")
MAX_BACKOFF = 60.0
REJECTED_MESSAGES = {
    "unsupported": (
        "The recording's format could not be read. Upload wav, mp3, m4a, ogg, webm or flac."
    ),
    "corrupt": "The recording is damaged or incomplete. Record or upload it again.",
    "empty": "The recording contains no sound. Record or upload it again.",
    "too_long": "The recording is too long for the speech service. Split it and upload the parts.",
    "file_too_large": "The recording is too large for the speech service.",
    "silent": (
        "The recording is silent: check that the microphone is on and not muted, and record again."
    ),
    "no_speech": "No speech was heard in the recording. Record or upload it again.",
}
# Refusals about the recording itself: the same bytes will be refused again, so the audio is
# crypto-shredded at once (zero retention) and the clinician records again. Other refusals (a
# wrong model name or API key) are the box's configuration: the audio waits for a Retry.
ABOUT_THE_RECORDING = frozenset(
    {"unsupported", "corrupt", "empty", "silent", "no_speech", "too_long", "file_too_large"}
)


def claim_next(appliance: Appliance) -> str | None:
    now = clock.utcnow()
    stale = now - lease(appliance)
    with appliance.unit_of_work() as db:
        row = db.exec(
            select(Dictation)
            .where(
                or_(
                    (col(Dictation.state) == State.QUEUED.value)
                    & (col(Dictation.next_attempt_at) <= now),
                    (col(Dictation.state) == State.TRANSCRIBING.value)
                    & (col(Dictation.claimed_at) < stale),
                    (col(Dictation.state) == State.DRAFTING.value)
                    & (col(Dictation.next_attempt_at) <= now)
                    & (col(Dictation.claimed_at).is_(None) | (col(Dictation.claimed_at) < stale)),
                )
            )
            .order_by(col(Dictation.created_at))
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return None
        if row.state == State.QUEUED.value:
            JOB_STAGE_SECONDS.labels("queued").observe((now - row.next_attempt_at).total_seconds())
            row.state, row.status_message = State.TRANSCRIBING.value, "Transcribing."
        elif row.state == State.DRAFTING.value:
            row.status_message = "Drafting the note."
        row.claimed_at = now
        db.add(row)
        return row.id


def lease(appliance: Appliance) -> timedelta:
    return timedelta(seconds=appliance.settings.job_lease_seconds)


def _backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, 2.0 ** min(attempts, 10))


def process(appliance: Appliance, dictation_id: str) -> None:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        state = row.state
    if state == State.TRANSCRIBING.value:
        _while_claimed(appliance, dictation_id, _transcribe)
    elif state == State.DRAFTING.value:
        _while_claimed(appliance, dictation_id, _draft)


def _while_claimed(
    appliance: Appliance, dictation_id: str, work: Callable[[Appliance, str], None]
) -> None:
    """Run one stage while a heartbeat thread keeps the claim fresh."""
    done = threading.Event()
    heartbeat_seconds = appliance.settings.job_lease_seconds / 4

    def renew() -> None:
        while not done.wait(heartbeat_seconds):
            with appliance.unit_of_work() as db:
                row = db.get(Dictation, dictation_id)
                if row is not None and row.claimed_at is not None:
                    row.claimed_at = clock.utcnow()
                    db.add(row)

    heartbeat = threading.Thread(target=renew, daemon=True)
    heartbeat.start()
    try:
        work(appliance, dictation_id)
    finally:
        done.set()
        heartbeat.join()


def _transcribe(appliance: Appliance, dictation_id: str) -> None:
    settings, keys = appliance.settings, appliance.keys
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None and row.audio_key_id is not None
        audio = audio_store.read_sealed(
            settings.data_dir, row.id, open_record_key(db, keys.keks, row.audio_key_id)
        )
        audio_format = row.audio_format or "wav"
        vocabulary = speech_vocabulary(row.modality)
    started = time.perf_counter()
    try:
        text = transcribe(
            settings.speech_url,
            settings.speech_model,
            settings.model_api_key,
            audio,
            audio_format,
            vocabulary,
        )
    except SpeechUnavailable as exc:
        _wait_and_retry(appliance, dictation_id, State.QUEUED, "speech service", str(exc))
        return
    except SpeechRejected as exc:
        _fail(appliance, dictation_id, exc)
        return
    finally:
        del audio
    JOB_STAGE_SECONDS.labels("transcribing").observe(time.perf_counter() - started)
    if not text.strip():  # sound, but nothing Whisper took for speech (noise, music, a cough)
        _fail(appliance, dictation_id, SpeechRejected(200, "no_speech"))
        return
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None and row.audio_key_id is not None
        if row.state != State.TRANSCRIBING.value:
            return  # someone else finished it (a stale lease taken over); keep theirs
        now = clock.utcnow()
        store_transcript(db, keys, row, text)
        row.transcribed_at = now
        row.state, row.claimed_at, row.status_message = State.DRAFTING.value, None, None
        row.next_attempt_at, row.attempts = now, 0
        # Zero retention: the audio's key dies in the same transaction that stores the
        # transcript; the ciphertext file is removed right after the commit.
        crypto_shred(db, row.audio_key_id)
        row.audio_deleted_at = now
        db.add(row)
        record_by(None, "dictation.transcribe", object_type="dictation", object_id=dictation_id)
        record_by(None, "audio.shred", object_type="dictation", object_id=dictation_id)
    audio_store.remove(settings.data_dir, dictation_id)


def _draft(appliance: Appliance, dictation_id: str) -> None:
    settings, keys = appliance.settings, appliance.keys
    router = LLMSectionClassifier(settings.llm_url, settings.llm_model, settings.model_api_key)
    if not router.available():
        _wait_and_retry(appliance, dictation_id, State.DRAFTING, "language model", "unreachable")
        return
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        transcript = read_transcript(db, keys, row)
        modality = row.modality
        # A custom template drafts from the dictation's own copy, never the template's current
        # state: an edit after submission must not change this note's sections.
        note_format: str | NoteFormat = (
            format_from_snapshot(row.note_format, row.template_snapshot)
            if row.template_snapshot is not None
            else row.note_format
        )
    if transcript is None:  # deleted by retention before it was drafted: nothing to draft
        with appliance.unit_of_work() as db:
            row = db.get(Dictation, dictation_id)
            assert row is not None
            row.state, row.claimed_at = State.FAILED.value, None
            row.status_message = "The transcript was deleted (retention) before it was drafted."
            db.add(row)
        return
    started = time.perf_counter()
    draft = build_draft(transcript, modality, note_format, router)
    writer = writer_for(
        settings.llm_class, settings.llm_url, settings.llm_model, settings.model_api_key
    )
    if writer is not None:
        draft = rewrite_draft(draft, writer)
    JOB_STAGE_SECONDS.labels("drafting").observe(time.perf_counter() - started)
    document = draft.as_json()
    del document["transcript"]  # stored once, as the transcript
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        if row.state != State.DRAFTING.value or row.draft_sealed is not None:
            return
        key = open_record_key(db, keys.keks, row.data_key_id)
        row.draft_sealed = seal(key, TABLE, row.id, "draft", json.dumps(document))
        row.drafted_at = clock.utcnow()
        row.state, row.claimed_at, row.status_message = State.READY.value, None, None
        db.add(row)
        record_by(None, "dictation.draft", object_type="dictation", object_id=dictation_id)


def _wait_and_retry(
    appliance: Appliance, dictation_id: str, back_to: State, service: str, why: str
) -> None:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        row.attempts += 1
        delay = _backoff(row.attempts)
        row.state, row.claimed_at = back_to.value, None
        row.next_attempt_at = clock.utcnow() + timedelta(seconds=delay)
        row.status_message = (
            f"Waiting for the {service} (attempt {row.attempts}); "
            f"trying again in {delay:.0f} s. Nothing is lost."
        )
        db.add(row)
    logger.warning("dictation %s: %s unavailable (%s)", dictation_id, service, why)


def _fail(appliance: Appliance, dictation_id: str, rejected: SpeechRejected) -> None:
    shredded: int | None = None  # the audio data key destroyed here
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        if row.state != State.TRANSCRIBING.value:
            return  # a worker that took over a stale lease finished it first; keep its result
        row.state, row.claimed_at = State.FAILED.value, None
        row.status_message = REJECTED_MESSAGES.get(
            rejected.code or "",
            f"The speech service refused the recording (HTTP {rejected.status}).",
        )
        shredded = row.audio_key_id if rejected.code in ABOUT_THE_RECORDING else None
        if shredded is not None:
            crypto_shred(db, shredded)
            row.audio_deleted_at = clock.utcnow()
        db.add(row)
        record_by(
            None,
            "dictation.transcribe",
            Outcome.FAILED,
            object_type="dictation",
            object_id=dictation_id,
            reason=rejected.code or f"http_{rejected.status}",
        )
        if shredded is not None:
            record_by(None, "audio.shred", object_type="dictation", object_id=dictation_id)
    if shredded is not None:
        audio_store.remove(appliance.settings.data_dir, dictation_id)


class DictationWorkers:
    """`count` threads inside `appliance serve`; each works one job stage at a time."""

    def __init__(self, appliance: Appliance, count: int, idle_seconds: float = 1.0) -> None:
        self.appliance, self.count, self.idle_seconds = appliance, count, idle_seconds
        self.stopping = threading.Event()
        self.work_arrived = threading.Event()
        self.threads: list[threading.Thread] = []

    def wake(self) -> None:
        """A submission in this process: start now rather than at the next idle poll (other
        processes sharing the database still find it within `idle_seconds`)."""
        self.work_arrived.set()

    def run_once(self) -> bool:
        dictation_id = claim_next(self.appliance)
        if dictation_id is None:
            return False
        try:
            process(self.appliance, dictation_id)
        except Exception as exc:  # the lease brings the job back; keep the worker alive
            logger.error("dictation %s: %s", dictation_id, type(exc).__name__)
        return True

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.run_once()
            except Exception as exc:  # a database hiccup must not end the worker
                logger.error("job worker: %s", type(exc).__name__)
                worked = False
            if not worked:
                self.work_arrived.wait(self.idle_seconds)
                self.work_arrived.clear()

    def start(self) -> None:
        for n in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"dictation-worker-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        self.work_arrived.set()
        for thread in self.threads:
            thread.join(timeout=30)

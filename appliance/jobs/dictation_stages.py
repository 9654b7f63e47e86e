"""The dictation job's two stages, on the generic queue (appliance.jobs.queue).

A dictation row is a job with two stages: transcribing (queued -> transcribing -> drafting) and
drafting (drafting -> ready), each one step of appliance.drafting.pipeline. Between them the
transcript is stored and the audio crypto-shredded, in one transaction. With the speech service
or the LLM down, a stage waits and retries with backoff instead of failing.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from appliance import __version__, clock
from appliance.audit.record import Outcome, record_by
from appliance.crypto.envelope import open_record_key, seal
from appliance.crypto.keyfiles import Keys
from appliance.drafting import pipeline
from appliance.drafting.custom_formats import format_from_snapshot
from appliance.drafting.deadline import Deadline, DraftingTimedOut
from appliance.drafting.draft import Draft
from appliance.drafting.formats import NoteFormat
from appliance.faults import database_unreachable
from appliance.inference.configured import configured_models
from appliance.inference.speech import SpeechRejected, SpeechUnavailable
from appliance.jobs.queue import (
    JobType,
    backoff_seconds,
    claim_first,
    stale_before,
    work_while_claimed,
)
from appliance.metrics import JOB_STAGE_SECONDS
from appliance.models import Dictation
from appliance.notes.review import start_note
from appliance.records import audio_store, recording_audio
from appliance.records.dictations import (
    TABLE,
    State,
    read_partial,
    read_transcript,
    store_transcript,
)
from appliance.records.pcm_stream import as_wav
from appliance.records.session_details import session_of
from appliance.runtime import Appliance
from appliance.settings import Settings
from speech_io.protocol import ABOUT_THE_RECORDING, NOTHING_HEARD, SpeechErrorCode
from speech_io.stretches import join_texts

logger = logging.getLogger("appliance.jobs")
# How long one dictation may take to draft before its job fails. Drafting is mostly waiting for
# the router (about 1 s a sentence on 2 cores for the sentences cues leave open); the largest
# typed note (50,000 characters, some 550 sentences) needs a few minutes on a busy box, so this
# stops only a draft that is stuck: a model that has become too slow to wait for, or a pattern
# gone quadratic again. A model call already under way may add its patience (120 s) to it.
DRAFTING_TIME_LIMIT_SECONDS = 15 * 60
DRAFTING_TIMED_OUT = (
    "Drafting took longer than its time limit and was stopped. The transcript is kept: retry, "
    "and if it stops again, ask your administrator to check the language model."
)
REJECTED_MESSAGES = {
    SpeechErrorCode.UNSUPPORTED: (
        "The recording's format could not be read. Upload wav, mp3, m4a, ogg, webm or flac."
    ),
    SpeechErrorCode.CORRUPT: "The recording is damaged or incomplete. Record or upload it again.",
    SpeechErrorCode.EMPTY: "The recording contains no sound. Record or upload it again.",
    SpeechErrorCode.TOO_LONG: (
        "The recording is too long for the speech service. Split it and upload the parts."
    ),
    SpeechErrorCode.FILE_TOO_LARGE: "The recording is too large for the speech service.",
    SpeechErrorCode.SILENT: (
        "The recording is silent: check that the microphone is on and not muted, and record again."
    ),
    SpeechErrorCode.NO_SPEECH: "No speech was heard in the recording. Record or upload it again.",
}


def claim_next(appliance: Appliance) -> str | None:
    now = clock.utcnow()
    stale = stale_before(appliance)
    with appliance.unit_of_work() as db:
        row = claim_first(
            db,
            select(Dictation)
            .where(
                or_(
                    # A stopped recording whose last stretch is still being heard is claimed
                    # once that stretch is stored (appliance.jobs.stretch_stage), never beside it.
                    (col(Dictation.state) == State.QUEUED.value)
                    & (col(Dictation.next_attempt_at) <= now)
                    & (col(Dictation.claimed_at).is_(None) | (col(Dictation.claimed_at) < stale)),
                    (col(Dictation.state) == State.TRANSCRIBING.value)
                    & (col(Dictation.claimed_at) < stale),
                    (col(Dictation.state) == State.DRAFTING.value)
                    & (col(Dictation.next_attempt_at) <= now)
                    & (col(Dictation.claimed_at).is_(None) | (col(Dictation.claimed_at) < stale)),
                )
            )
            .order_by(col(Dictation.created_at)),
        )
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


def renew_claim(appliance: Appliance, dictation_id: str) -> None:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        if row is not None and row.claimed_at is not None:
            row.claimed_at = clock.utcnow()
            db.add(row)


def work(appliance: Appliance, dictation_id: str) -> None:
    """The claimed dictation's current stage."""
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        state = row.state
    if state == State.TRANSCRIBING.value:
        _transcribe(appliance, dictation_id)
    elif state == State.DRAFTING.value:
        _draft(appliance, dictation_id)


# A stage that raised something unexpected three times is a bug that a fourth try will meet too.
MAX_CRASHES = 3
CRASHED = (
    "An internal error stopped work on this dictation (it was tried {n} times). What was sent "
    "is kept: retry, and if it stops again, tell your administrator."
)


def crashed(appliance: Appliance, dictation_id: str, exc: Exception) -> None:
    """A stage raised what none expects. Counted on the row (a restart does not reset it); the
    dictation is tried again after a backoff, and fails with a reason after MAX_CRASHES. The
    database out of reach is no crash: the lease hands the job back once it returns."""
    if database_unreachable(exc):
        return
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        if row is None or row.state not in (State.TRANSCRIBING.value, State.DRAFTING.value):
            return
        stage = "transcribe" if row.state == State.TRANSCRIBING.value else "draft"
        row.crashes += 1
        row.claimed_at = None
        if row.crashes >= MAX_CRASHES:
            row.state, row.status_message = State.FAILED.value, CRASHED.format(n=row.crashes)
            record_by(
                None,
                f"dictation.{stage}",
                Outcome.FAILED,
                object_type="dictation",
                object_id=dictation_id,
                reason="internal_error",
            )
        else:
            if row.state == State.TRANSCRIBING.value:
                row.state = State.QUEUED.value
            row.next_attempt_at = clock.utcnow() + timedelta(seconds=backoff_seconds(row.crashes))
            row.status_message = "Trying again after an internal error. Nothing is lost."
        db.add(row)


DICTATION_JOBS = JobType(
    "dictation", claim=claim_next, work=work, renew=renew_claim, crashed=crashed
)


def process(appliance: Appliance, dictation_id: str) -> None:
    """Work one claimed dictation as a worker does (heartbeat included)."""
    work_while_claimed(appliance, DICTATION_JOBS, dictation_id)


def _transcribe(appliance: Appliance, dictation_id: str) -> None:
    settings, keys = appliance.settings, appliance.keys
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None and row.audio_key_id is not None
        heard_before = ""
        if row.source == audio_store.STREAMED:
            # Only what no stretch heard while recording (appliance.jobs.stretch_stage).
            heard_before = read_partial(db, keys, row)
            pcm = recording_audio.read_pcm(
                db, keys.keks, settings.data_dir, row, row.transcribed_bytes
            )
            audio, audio_format = (as_wav(pcm) if pcm else b""), "wav"
            del pcm
        else:
            audio = audio_store.read_sealed(
                settings.data_dir, row.id, open_record_key(db, keys.keks, row.audio_key_id)
            )
            audio_format = row.audio_format or "wav"
        modality = session_of(db, keys, row).modality
    speech = configured_models(settings).speech
    started = time.perf_counter()
    try:
        tail = pipeline.transcribe(speech, audio, audio_format, modality) if audio else ""
    except SpeechUnavailable as exc:
        _wait_and_retry(appliance, dictation_id, State.QUEUED, "speech service", str(exc))
        return
    except SpeechRejected as exc:
        # The last seconds of a recording heard in stretches may be only the pause before Stop.
        if not (heard_before and exc.known_code in NOTHING_HEARD):
            _fail(appliance, dictation_id, exc)
            return
        tail = ""
    finally:
        del audio
    JOB_STAGE_SECONDS.labels("transcribing").observe(time.perf_counter() - started)
    text = join_texts([heard_before, tail])
    if not text.strip():  # sound, but nothing Whisper took for speech (noise, music, a cough)
        _fail(appliance, dictation_id, SpeechRejected(200, SpeechErrorCode.NO_SPEECH))
        return
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None and row.audio_key_id is not None
        if row.state != State.TRANSCRIBING.value:
            return  # someone else finished it (a stale lease taken over); keep theirs
        now = clock.utcnow()
        store_transcript(db, keys, row, text)
        row.partial_transcript_sealed = None  # the transcript holds it now, once
        row.transcribed_at = now
        row.produced_by = {**(row.produced_by or {}), "speech_model": settings.speech_model}
        row.state, row.claimed_at, row.status_message = State.DRAFTING.value, None, None
        row.next_attempt_at, row.attempts = now, 0
        # Zero retention: the audio's keys die in the same transaction that stores the
        # transcript; the ciphertext files are removed right after the commit.
        recording_audio.shred_all(db, row)
        row.audio_deleted_at = now
        db.add(row)
        record_by(None, "dictation.transcribe", object_type="dictation", object_id=dictation_id)
        record_by(None, "audio.shred", object_type="dictation", object_id=dictation_id)
    audio_store.remove(settings.data_dir, dictation_id)


def _draft(appliance: Appliance, dictation_id: str) -> None:
    settings, keys = appliance.settings, appliance.keys
    models = configured_models(settings)
    if not models.llm.available():
        _wait_and_retry(appliance, dictation_id, State.DRAFTING, "language model", "unreachable")
        return
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        transcript = read_transcript(db, keys, row)
        modality = session_of(db, keys, row).modality
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
    # A time limit, so that a stuck draft fails its job instead of holding a worker forever.
    # Drafting checks it itself, between sentences (appliance.drafting.deadline), rather than
    # being stopped from outside: a worker thread cannot be killed, and a process per draft
    # would cost more than it bounds. Forking `appliance serve` (its threads, its database
    # pools) is unsafe; spawning means an interpreter start and its memory per draft on a 2 GB
    # box; and the router and writer that drafting calls are clients living in this process.
    # The check is enough because every step between two checks is short: each pattern of
    # appliance.drafting is linear in its input (issue 11, timed at the typed-note limit by
    # tests/appliance/drafting/test_adversarial_input.py), and a model call ends within its
    # patience.
    deadline = Deadline.after(DRAFTING_TIME_LIMIT_SECONDS)
    try:
        draft = pipeline.draft(
            transcript, modality, note_format, models.router, models.writer, deadline=deadline
        )
    except DraftingTimedOut:
        _fail_drafting(appliance, dictation_id)
        return
    JOB_STAGE_SECONDS.labels("drafting").observe(time.perf_counter() - started)
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        if row.state != State.DRAFTING.value or row.draft_sealed is not None:
            return
        store_draft(db, keys, settings, row, draft)


def _fail_drafting(appliance: Appliance, dictation_id: str) -> None:
    """The draft ran past its time limit: the dictation fails with a fixed message (never any of
    its content) and keeps its transcript, so Retry drafts it again."""
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        if row.state != State.DRAFTING.value or row.draft_sealed is not None:
            return  # another worker finished it meanwhile; keep its result
        row.state, row.claimed_at = State.FAILED.value, None
        row.status_message = DRAFTING_TIMED_OUT
        db.add(row)
        record_by(
            None,
            "dictation.draft",
            Outcome.FAILED,
            object_type="dictation",
            object_id=dictation_id,
            reason="time_limit",
        )
    logger.warning(
        "dictation %s: drafting stopped at its time limit (%d s)",
        dictation_id,
        DRAFTING_TIME_LIMIT_SECONDS,
    )


def store_draft(db: Session, keys: Keys, settings: Settings, row: Dictation, draft: Draft) -> None:
    """Seal the machine draft, mark the dictation ready and start its note, in one transaction:
    a ready dictation always has a note to review."""
    document = draft.as_json()
    del document["transcript"]  # stored once, as the transcript
    key = open_record_key(db, keys.keks, row.data_key_id)
    row.draft_sealed = seal(key, TABLE, row.id, "draft", json.dumps(document))
    row.drafted_at = clock.utcnow()
    row.state, row.claimed_at, row.status_message = State.READY.value, None, None
    row.produced_by = produced_by(settings, row)
    db.add(row)
    record_by(None, "dictation.draft", object_type="dictation", object_id=row.id)
    start_note(db, keys, row, draft)


def produced_by(settings: Settings, row: Dictation) -> dict[str, Any]:
    """What wrote this draft, for the signed record: names and versions, never PHI."""
    snapshot = row.template_snapshot
    return {
        **(row.produced_by or {}),
        "appliance_version": __version__,
        "llm_model": settings.llm_model,
        "llm_class": settings.llm_class,
        "note_format": row.note_format,
        "template_snapshot": None if snapshot is None else snapshot.get("id"),
    }


def _wait_and_retry(
    appliance: Appliance, dictation_id: str, back_to: State, service: str, why: str
) -> None:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        row.attempts += 1
        delay = backoff_seconds(row.attempts)
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
        code = rejected.known_code
        known = REJECTED_MESSAGES.get(code) if code is not None else None
        row.status_message = known or (
            f"The speech service refused the recording (HTTP {rejected.status})."
        )
        # About the recording: the same bytes would be refused again, so the audio is
        # crypto-shredded at once (zero retention) and the clinician records again. Other
        # refusals (a wrong model name or API key) are the box's configuration: the audio waits
        # for a Retry.
        shredded = row.audio_key_id if code in ABOUT_THE_RECORDING else None
        if shredded is not None:
            recording_audio.shred_all(db, row)
            row.audio_deleted_at = clock.utcnow()
            # The clinician records again: text heard of this one while recording is not kept.
            row.partial_transcript_sealed = None
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

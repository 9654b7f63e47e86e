"""Transcribing a streamed recording while it is still being recorded, a stretch at a time.

A recording with at least `StretchPolicy.due_seconds` of audio not yet heard is a stretch job:
a worker claims it (the same lease and heartbeat as any job), reads the untranscribed audio,
cuts it in a pause near its end (speech_io.stretches), has the speech service hear the part
before the cut with the modality's vocabulary, as it would the whole recording, and stores the
text, the new transcribed length and the shredding of every chunk wholly heard, in one
transaction. So at Stop only the tail is left (appliance.jobs.dictation_stages), and audio that
has its text is gone while the clinician is still talking.

Stretches are tried after the dictations a clinician is waiting on (job_types), and a
dictation's final transcription is not claimed while a stretch of it is being heard (its claim
is checked): the two would otherwise hear the same audio twice. The text is stored only if
nothing moved meanwhile (the transcribed length is as it was read), so a stale worker's late
answer is dropped. With the speech service down, the stretch waits with backoff and the chunks
go on arriving; whatever is not heard by Stop is heard then.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlmodel import col, select

from appliance import clock
from appliance.audit.record import record_by
from appliance.drafting import pipeline
from appliance.inference.configured import configured_models
from appliance.inference.speech import SpeechRejected, SpeechUnavailable
from appliance.jobs.dictation_stages import renew_claim
from appliance.jobs.queue import JobType, backoff_seconds, claim_first, stale_before
from appliance.metrics import JOB_STAGE_SECONDS
from appliance.models import Dictation
from appliance.records import recording_audio
from appliance.records.after_commit import after_commit
from appliance.records.audio_store import STREAMED
from appliance.records.dictations import State, read_partial, store_partial
from appliance.records.pcm_stream import as_wav
from appliance.records.session_details import session_of
from appliance.runtime import Appliance
from speech_io.protocol import NOTHING_HEARD
from speech_io.stretches import BYTES_PER_SECOND, DEFAULT_POLICY, find_cut, join_texts

logger = logging.getLogger("appliance.jobs")

DUE_BYTES = int(DEFAULT_POLICY.due_seconds * BYTES_PER_SECOND)
# A stretch due but with no pause in it yet: look again when another chunk or two has come.
NO_PAUSE_YET_SECONDS = 3.0


def claim_next(appliance: Appliance) -> str | None:
    now = clock.utcnow()
    stale = stale_before(appliance)
    with appliance.unit_of_work() as db:
        row = claim_first(
            db,
            select(Dictation)
            .where(
                col(Dictation.state) == State.RECORDING.value,
                col(Dictation.source) == STREAMED,
                col(Dictation.audio_bytes) - col(Dictation.transcribed_bytes) >= DUE_BYTES,
                col(Dictation.next_attempt_at) <= now,
                col(Dictation.claimed_at).is_(None) | (col(Dictation.claimed_at) < stale),
            )
            .order_by(col(Dictation.created_at)),
        )
        if row is None:
            return None
        row.claimed_at = now
        db.add(row)
        return row.id


def _release(appliance: Appliance, dictation_id: str, after_seconds: float) -> None:
    """Give the claim back; the recording is looked at again after `after_seconds`, or at once
    once it is stopped (its final transcription waits for no stretch)."""
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        if row is None:
            return
        row.claimed_at = None
        if row.state == State.RECORDING.value:
            row.next_attempt_at = clock.utcnow() + timedelta(seconds=after_seconds)
        db.add(row)


def work(appliance: Appliance, dictation_id: str) -> None:
    settings, keys = appliance.settings, appliance.keys
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        assert row is not None
        if row.state not in (State.RECORDING.value, State.QUEUED.value):
            return  # ended meanwhile (a deleted client, the idle sweep's shredding)
        start = row.transcribed_bytes
        pcm = recording_audio.read_pcm(db, keys.keks, settings.data_dir, row, start)
        modality = session_of(db, keys, row).modality
    cut = find_cut(pcm)
    if cut is None:
        del pcm
        _release(appliance, dictation_id, NO_PAUSE_YET_SECONDS)
        return
    stretch = as_wav(pcm[:cut])
    del pcm
    speech = configured_models(settings).speech
    started = time.perf_counter()
    try:
        text = pipeline.transcribe(speech, stretch, "wav", modality)
    except SpeechUnavailable as exc:
        row_attempts = _count_wait(appliance, dictation_id)
        logger.warning(
            "dictation %s: speech service unavailable for a stretch (%s)", dictation_id, exc
        )
        _release(appliance, dictation_id, backoff_seconds(row_attempts))
        return
    except SpeechRejected as exc:
        if exc.known_code not in NOTHING_HEARD:
            # Something about this box's set-up (a model name, a key): Stop will meet it too,
            # and say so on the page. The stretch is left for then.
            logger.warning("dictation %s: a stretch was refused (%s)", dictation_id, exc.code)
            _release(appliance, dictation_id, backoff_seconds(5))
            return
        text = ""
    finally:
        del stretch
    JOB_STAGE_SECONDS.labels("stretch").observe(time.perf_counter() - started)
    _store(appliance, dictation_id, start, cut, text)


def _count_wait(appliance: Appliance, dictation_id: str) -> int:
    with appliance.unit_of_work() as db:
        row = db.get(Dictation, dictation_id)
        if row is None:
            return 1
        row.attempts += 1
        db.add(row)
        return row.attempts


def _store(appliance: Appliance, dictation_id: str, start: int, cut: int, text: str) -> None:
    """The stretch's text added to what was heard before, and its audio shredded, in one
    transaction; nothing at all if the recording moved on meanwhile."""
    settings, keys = appliance.settings, appliance.keys
    with appliance.unit_of_work() as db:
        row = db.exec(
            select(Dictation).where(Dictation.id == dictation_id).with_for_update()
        ).first()
        if row is None:
            return
        if row.state not in (State.RECORDING.value, State.QUEUED.value) or (
            row.transcribed_bytes != start
        ):
            return  # ended, or another worker (this one's claim gone stale) stored it first
        store_partial(db, keys, row, join_texts([read_partial(db, keys, row), text]))
        now = clock.utcnow()
        row.transcribed_bytes = start + cut
        row.stretches_transcribed += 1
        row.stretch_shredded_at = now
        row.claimed_at, row.attempts = None, 0
        # Stopped meanwhile: the final transcription may start at once.
        row.next_attempt_at = now
        removal = recording_audio.shred_through(db, settings.data_dir, row, start, start + cut)
        db.add(row)
        record_by(
            None,
            "dictation.transcribe",
            object_type="dictation",
            object_id=row.id,
            reason="stretch",
        )
        record_by(None, "audio.shred", object_type="dictation", object_id=row.id, reason="stretch")
        after_commit(db, [removal])


def crashed(appliance: Appliance, dictation_id: str, exc: Exception) -> None:
    """A stretch that raised is left for later (and, failing that, for Stop, which hears all
    that is left and counts its own crashes); the recording itself goes on regardless."""
    _release(appliance, dictation_id, backoff_seconds(6))


STRETCH_JOBS = JobType("stretch", claim=claim_next, work=work, renew=renew_claim, crashed=crashed)

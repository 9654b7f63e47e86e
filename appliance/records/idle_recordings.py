"""Recordings nobody stops: the tab closed, the network gone, the clinician signed out.

A streamed recording that has received no chunk for APPLIANCE_RECORDING_IDLE_MINUTES is ended
by a periodic task (appliance.jobs.scheduler): finished from what arrived, as if Stop had been
pressed, or, where the box is set to `shred` (APPLIANCE_RECORDING_IDLE_ACTION), its audio key is
destroyed and the dictation fails with a plain reason. A recording that received nothing at all
has nothing to finish, and is ended the second way whatever the setting. Either way the act is
audited, by "system", with a reason that says which.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import func
from sqlmodel import col, select

from appliance import clock
from appliance.audit.record import Outcome, record_by
from appliance.models import Dictation
from appliance.records import audio_store, recording_audio
from appliance.records.after_commit import after_commit
from appliance.records.dictations import State
from appliance.records.recordings import queue_streamed
from appliance.runtime import Appliance

logger = logging.getLogger("appliance.jobs")
# A round every minute: an idle limit is counted in minutes.
IDLE_SWEEP_INTERVAL_SECONDS = 60
SHREDDED = (
    "This recording received no audio for {minutes} minutes and was deleted, as this appliance "
    "is set to do. Record again."
)
NOTHING_ARRIVED = "No audio arrived for this recording, so there is nothing to transcribe."


@dataclass(frozen=True)
class SweepResult:
    finished: int
    shredded: int


def end_idle_recordings(appliance: Appliance) -> SweepResult:
    """One round: every recording idle past the limit, ended in one transaction."""
    settings = appliance.settings
    now = clock.utcnow()
    cutoff = now - timedelta(minutes=settings.recording_idle_minutes)
    finished = shredded = 0
    with appliance.unit_of_work() as db:
        # Locked, skipping any row a chunk is being stored into right now (it is not idle).
        rows = db.exec(
            select(Dictation)
            .where(
                col(Dictation.state) == State.RECORDING.value,
                func.coalesce(col(Dictation.last_chunk_at), col(Dictation.created_at)) < cutoff,
            )
            .with_for_update(skip_locked=True)
        ).all()
        removals = []
        for row in rows:
            if settings.recording_idle_action == "finish" and row.chunks_received > 0:
                queue_streamed(row)
                record_by(
                    None,
                    "dictation.finish",
                    object_type="dictation",
                    object_id=row.id,
                    reason="idle",
                )
                finished += 1
            else:
                recording_audio.shred_all(db, row)
                # What was heard of it goes too: the practice chose not to keep unfinished ones.
                row.partial_transcript_sealed = None
                row.audio_deleted_at, row.claimed_at = now, None
                row.state = State.FAILED.value
                row.status_message = (
                    SHREDDED.format(minutes=settings.recording_idle_minutes)
                    if row.chunks_received
                    else NOTHING_ARRIVED
                )
                record_by(
                    None,
                    "dictation.finish",
                    Outcome.FAILED,
                    object_type="dictation",
                    object_id=row.id,
                    reason="idle_shred" if row.chunks_received else "idle_empty",
                )
                record_by(
                    None, "audio.shred", object_type="dictation", object_id=row.id, reason="idle"
                )
                removals.append(partial(audio_store.remove, settings.data_dir, row.id))
                shredded += 1
            db.add(row)
        # The files go once the keys' destruction is durable (appliance.records.after_commit).
        after_commit(db, removals)
    if finished or shredded:
        logger.info("idle recordings: %d finished, %d shredded", finished, shredded)
    return SweepResult(finished, shredded)

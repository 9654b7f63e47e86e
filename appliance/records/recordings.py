"""Streamed recordings: a dictation whose audio arrives in chunks while the clinician speaks.

start_recording -> append_chunk (0, 1, 2, ...) -> finish_recording, then the dictation is
`queued`. While it is still recording, a worker transcribes it a stretch at a time and shreds
each stretch's audio once its text is stored (appliance.jobs.stretch_stage); at Stop the
pipeline hears only what is left, then drafts, as it does for an upload. Each chunk is sealed
under a key of its own (appliance.records.recording_audio), which is what lets a stretch be
shredded while the rest is still arriving.

Chunks are numbered so that a client on a flaky network can simply send again what it is not
sure arrived: a chunk sent again with the same audio is accepted and changes nothing, the same
number with other audio is refused, and a number beyond the next expected one (a chunk lost on
the way) is refused with the number expected, so the client resends in order. The count stored
on the row is the next expected number, so a server killed mid-recording knows after its restart
where the recording stands: each chunk is fsynced before its row is committed and before it is
acknowledged (appliance.records.audio_chunks).

Only the dictation's own clinician appends and stops, and only while it is `recording`. A
recording nobody finishes is ended by appliance.records.idle_recordings.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, select

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.audit.record import Outcome, allowed_reads_unrecorded
from appliance.crypto.envelope import KeyShredded
from appliance.crypto.keyfiles import Keys
from appliance.db import current_unit
from appliance.models import Dictation
from appliance.records import audio_chunks, audio_store, recording_audio
from appliance.records.clients import get_client
from appliance.records.dictations import (
    MAX_CHECKED_SECONDS,
    State,
    audit_dictation,
    create_dictation,
    read_partial,
    visible_dictation,
)
from appliance.records.pcm_stream import BYTES_PER_SECOND, seconds_of, whole_samples
from appliance.records.session_details import SessionDetails
from appliance.roles import Actor, Role
from appliance.settings import Settings

# "A few seconds" is what a client sends; a minute bounds what one request may hold in memory
# and what one lost answer makes the client send again.
MAX_CHUNK_SECONDS = 60
MAX_CHUNK_BYTES = MAX_CHUNK_SECONDS * BYTES_PER_SECOND


class Refusal(StrEnum):
    """Why a chunk or a stop was refused; each maps to one HTTP status in the web layer."""

    GAP = "gap"  # a chunk after one that has not arrived: send `expected_sequence` first
    DIFFERENT = "different"  # this number was stored with other audio
    NOT_RECORDING = "not_recording"  # stopped already, or never a recording
    BAD_CHUNK = "bad_chunk"  # empty, a half sample, or longer than MAX_CHUNK_SECONDS
    LIMIT = "limit"  # past the upload limit; what arrived is kept
    NOTHING_RECORDED = "nothing_recorded"  # Stop before any chunk


class RecordingRefused(Exception):
    """A chunk or a stop that changes nothing; the message is for the clinician (never PHI)."""

    def __init__(self, refusal: Refusal, message: str, expected_sequence: int) -> None:
        super().__init__(message)
        self.refusal, self.expected_sequence = refusal, expected_sequence


@dataclass(frozen=True)
class ChunkReceipt:
    sequence: int
    next_sequence: int
    received_seconds: float
    # False for a chunk sent again: it was stored before, and nothing changed.
    stored: bool


def start_recording(
    db: Session,
    keys: Keys,
    settings: Settings,
    actor: Actor,
    client_id: str,
    details: SessionDetails,
    *,
    stream_format: str,
    submission_key: str | None = None,
) -> str:
    """A dictation in state `recording`, with its audio key and no audio yet. The same checks,
    audit event (`dictation.create`) and submission key as any new dictation: a start sent
    twice with one key (its answer lost) gives back the same recording."""
    return create_dictation(
        db,
        keys,
        settings,
        actor,
        client_id,
        details,
        stream_format=stream_format,
        submission_key=submission_key,
    )


def _own_streamed(
    db: Session, keys: Keys, actor: Actor, dictation_id: str, action: str
) -> Dictation:
    """The actor's own streamed dictation, locked for this transaction, or NotFound (audited)
    for anyone else's: a supervisor reads a recording but never adds to it, and another
    clinician learns nothing, not even that it exists."""
    if actor.role is not Role.CLINICIAN:
        audit_dictation(actor, action, dictation_id, Outcome.DENIED, "role")
        raise AccessDenied(f"only clinicians {action}")
    # Locked: two chunks of one recording, or a chunk and the idle sweep, take turns (SQLite
    # serialises every writer anyway; PostgreSQL needs the row lock).
    row = db.exec(select(Dictation).where(Dictation.id == dictation_id).with_for_update()).first()
    if row is None or row.owner_id != actor.user_id or row.source != audio_store.STREAMED:
        audit_dictation(actor, action, dictation_id, Outcome.DENIED, "not_found")
        raise NotFound("dictation")
    try:
        # The client's own rule (deleted, or no longer this clinician's: gone); checked on every
        # chunk, but an allowed check is not recorded each time, as for the progress poll.
        with allowed_reads_unrecorded():
            get_client(db, keys, actor, row.client_id)
    except (NotFound, AccessDenied):
        audit_dictation(actor, action, dictation_id, Outcome.DENIED, "not_found")
        raise NotFound("dictation") from None
    return row


def _refuse(
    actor: Actor, row: Dictation, action: str, refusal: Refusal, message: str
) -> RecordingRefused:
    audit_dictation(actor, action, row.id, Outcome.DENIED, refusal.value)
    return RecordingRefused(refusal, message, row.chunks_received)


def _not_recording(actor: Actor, row: Dictation, action: str) -> RecordingRefused:
    return _refuse(
        actor,
        row,
        action,
        Refusal.NOT_RECORDING,
        f"This recording has been stopped (it is {row.state}); nothing more can be added.",
    )


def limit_bytes(settings: Settings) -> int:
    """The most audio one dictation may hold: the upload limit, and the longest recording any
    dictation may be (dictations.MAX_CHECKED_SECONDS), whichever is less."""
    return min(settings.max_upload_mb * 1024 * 1024, MAX_CHECKED_SECONDS * BYTES_PER_SECOND)


def _check_chunk(actor: Actor, row: Dictation, settings: Settings, audio: bytes) -> None:
    action = "dictation.chunk"
    if not audio or not whole_samples(audio) or len(audio) > MAX_CHUNK_BYTES:
        raise _refuse(
            actor,
            row,
            action,
            Refusal.BAD_CHUNK,
            "Each part of a recording must hold whole 16-bit samples, at most "
            f"{MAX_CHUNK_SECONDS} seconds of them.",
        )
    limit = limit_bytes(settings)
    if (row.audio_bytes or 0) + len(audio) > limit:
        minutes = int(seconds_of(limit) // 60)
        raise _refuse(
            actor,
            row,
            action,
            Refusal.LIMIT,
            f"The recording has reached the most one dictation may hold (about {minutes} "
            "minutes). What arrived is kept: stop the recording to have it transcribed.",
        )


def append_chunk(
    db: Session,
    keys: Keys,
    settings: Settings,
    actor: Actor,
    dictation_id: str,
    sequence: int,
    audio: bytes,
) -> ChunkReceipt:
    """Store chunk `sequence` (sealed, fsynced) of the actor's recording; RecordingRefused for a
    gap, a number already stored with other audio, a bad chunk, the limit, or a stopped
    recording. The caller acknowledges the chunk only once this transaction has committed."""
    action = "dictation.chunk"
    row = _own_streamed(db, keys, actor, dictation_id, action)
    if row.state != State.RECORDING.value:
        raise _not_recording(actor, row, action)
    expected = row.chunks_received
    if sequence < 0 or sequence > expected:
        raise _refuse(
            actor,
            row,
            action,
            Refusal.GAP,
            f"Part {sequence} came before part {expected} arrived: send part {expected} next.",
        )
    if sequence < expected:
        try:
            key = recording_audio.chunk_key(db, keys.keks, row, sequence)
            stored: bytes | None = audio_chunks.read_chunk(settings.data_dir, row.id, key, sequence)
        except KeyShredded:
            # Already transcribed, and its audio shredded: what it held cannot be compared any
            # more, and it need not be, since its text is stored. The client moves on either way.
            stored = None
        if stored is None:
            audit_dictation(actor, action, row.id, reason="sent_again")
            return ChunkReceipt(sequence, expected, seconds_of(row.audio_bytes or 0), stored=False)
        # The resend of a chunk whose answer was lost: compared in constant time, though both
        # sides are the clinician's own audio, since it costs nothing.
        if not hmac.compare_digest(stored, audio):
            raise _refuse(
                actor,
                row,
                action,
                Refusal.DIFFERENT,
                f"Part {sequence} was already received with different audio; it is kept as it "
                f"was. Send part {expected} next.",
            )
        audit_dictation(actor, action, row.id, reason="sent_again")
        return ChunkReceipt(sequence, expected, seconds_of(row.audio_bytes or 0), stored=False)
    _check_chunk(actor, row, settings, audio)
    key = recording_audio.new_chunk_key(db, keys.keks, row, sequence, len(audio))
    # Fsynced before the row commits, and acknowledged only after the commit: a crash in
    # between leaves a file under a number the row does not count yet, which the client's
    # resend overwrites (and a join never reads).
    audio_chunks.write_chunk(settings.data_dir, row.id, key, sequence, audio)
    _remove_on_rollback(settings, row.id, sequence)
    row.chunks_received = expected + 1
    row.audio_bytes = (row.audio_bytes or 0) + len(audio)
    row.last_chunk_at = clock.utcnow()
    db.add(row)
    audit_dictation(actor, action, row.id)
    return ChunkReceipt(sequence, row.chunks_received, seconds_of(row.audio_bytes), stored=True)


def _remove_on_rollback(settings: Settings, dictation_id: str, sequence: int) -> None:
    unit = current_unit.get()
    if unit is not None:
        unit.after_rollback.insert(
            0, lambda: audio_chunks.remove_chunk(settings.data_dir, dictation_id, sequence)
        )


def finish_recording(db: Session, keys: Keys, actor: Actor, dictation_id: str) -> None:
    """Stop: the recording is queued, as an upload is, for transcription and drafting. Stopping
    again (the answer to the first Stop was lost) changes nothing; a Stop before any chunk
    arrived is refused and the recording stays open for its first chunk."""
    action = "dictation.finish"
    row = _own_streamed(db, keys, actor, dictation_id, action)
    if row.state != State.RECORDING.value:
        # Stopped before (or ended by the idle sweep): the dictation's page says where it is.
        audit_dictation(actor, action, row.id, reason="sent_again")
        return
    if row.chunks_received == 0:
        raise _refuse(
            actor,
            row,
            action,
            Refusal.NOTHING_RECORDED,
            "Nothing has been received for this recording yet: send part 0, then stop.",
        )
    queue_streamed(row)
    db.add(row)
    audit_dictation(actor, action, row.id)


def queue_streamed(row: Dictation) -> None:
    """The recording becomes an ordinary queued dictation (Stop, or the idle sweep)."""
    row.state, row.status_message = State.QUEUED.value, None
    row.next_attempt_at = clock.utcnow()


@dataclass(frozen=True)
class LiveTranscript:
    """What the recording page shows while the clinician speaks (polled, like the progress
    page): how much has arrived, how much of it has been heard, and the text heard so far."""

    state: str
    received_seconds: float
    heard_seconds: float
    stretches: int
    # The text of every stretch heard; None when no stretch is new since the caller's `after`
    # (the page keeps what it showed), so an unchanged poll reads no PHI.
    text: str | None
    # When heard audio was last crypto-shredded: a stretch's while recording, all of it at the
    # end. None while nothing has been.
    audio_shredded_at: datetime | None


def live_transcript(
    db: Session, keys: Keys, actor: Actor, dictation_id: str, after: int
) -> LiveTranscript:
    """The actor's own recording as heard so far. Polled every few seconds: a poll that returns
    text is audited (`dictation.live_view`), one that returns nothing new reads no PHI and is
    not, as for the progress poll."""
    with allowed_reads_unrecorded():
        row = visible_dictation(db, keys, actor, dictation_id)
    if row.owner_id != actor.user_id or row.source != audio_store.STREAMED:
        audit_dictation(actor, "dictation.live_view", dictation_id, Outcome.DENIED, "not_found")
        raise NotFound("dictation")
    text = None
    # Once the whole transcript is stored the text so far is gone (the transcript holds it).
    if row.stretches_transcribed > after and row.partial_transcript_sealed is not None:
        text = read_partial(db, keys, row)
        audit_dictation(actor, "dictation.live_view", dictation_id)
    return LiveTranscript(
        state=row.state,
        received_seconds=seconds_of(row.audio_bytes or 0),
        heard_seconds=seconds_of(row.transcribed_bytes),
        stretches=row.stretches_transcribed,
        text=text,
        audio_shredded_at=row.audio_deleted_at or row.stretch_shredded_at,
    )

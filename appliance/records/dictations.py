"""Dictations: what a clinician submits after a session, and the durable job that follows.

States: queued -> transcribing -> drafting -> ready, or failed (with a message and a retry).
Typed notes need no transcription: they are stored as their own transcript and go straight to
drafting. A recording streamed from the browser starts as `recording` and is queued at Stop
(appliance.records.recordings). Nothing is ever final here: a ready draft waits for the clinician.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.audit.record import Outcome, allowed_reads_unrecorded, record_by
from appliance.crypto.envelope import crypto_shred, new_record_key, open_record_key, seal, unseal
from appliance.crypto.keyfiles import Keys
from appliance.db import current_unit
from appliance.drafting.draft import Draft
from appliance.models import Client, Dictation
from appliance.numbers import whole_number
from appliance.practice.note_templates import active_template, snapshot, template_id_of
from appliance.records import audio_store
from appliance.records.clients import get_client
from appliance.records.pcm_stream import STREAM_FORMATS
from appliance.records.session_details import (
    SessionDetails,
    client_key_id,
    seal_session,
    session_of,
    sessions_of,
)
from appliance.roles import Actor, Role
from appliance.settings import Settings
from speech_io.audio import ACCEPTED_NAMES, SILENCE_DBFS, AudioError, sniff_format
from speech_io.sound_check import SoundCheckFailed, has_sound_isolated

TABLE = "dictations"
MODALITIES = {
    "cbt": "CBT",
    "dbt": "DBT",
    "act": "ACT",
    "emdr": "EMDR",
    "ifs": "IFS",
    "psychodynamic": "Psychodynamic",
    "integrative": "Integrative / general",
}
NOTE_FORMATS = {"soap": "SOAP", "dap": "DAP", "birp": "BIRP", "girp": "GIRP"}
MAX_TYPED = 50_000
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# A custom template's format; whether it exists and is active is checked when submitting.
CUSTOM_FORMAT = re.compile(r"^custom:[0-9a-f]{32}$")


class State(StrEnum):
    # Streamed audio is arriving in chunks (appliance.records.recordings); no worker claims it.
    RECORDING = "recording"
    QUEUED = "queued"
    TRANSCRIBING = "transcribing"
    DRAFTING = "drafting"
    READY = "ready"
    FAILED = "failed"


class DictationInputError(ValueError):
    """Bad form input; the message names the field. Nothing has been stored."""


# 45 minutes: what a session is billed as when the clinician has no earlier choice to reuse.
USUAL_SERVICE_CODE = "90834"


def form_defaults(
    db: Session, keys: Keys, actor: Actor, service_codes: Mapping[str, str]
) -> dict[str, str]:
    """What the new-dictation form starts with: today, and the clinician's last choices (most
    work in one modality and format). A code an admin has since removed is not offered again."""
    row = db.exec(
        select(Dictation)
        .join(Client, col(Client.id) == col(Dictation.client_id))
        .where(Dictation.owner_id == actor.user_id, col(Client.deleted_at).is_(None))
        .order_by(col(Dictation.created_at).desc())
        .limit(1)
    ).first()
    last = session_of(db, keys, row) if row is not None else None
    candidates = [last.service_code] if last else []
    code = next(
        (c for c in [*candidates, USUAL_SERVICE_CODE] if c in service_codes),
        next(iter(service_codes)),
    )
    return {
        "session_date": clock.utcnow().date().isoformat(),
        "start_time": "",
        "duration_minutes": "50",
        "service_code": code,
        "modality": last.modality if last else "integrative",
        "note_format": last.note_format if last else "soap",
    }


def parse_details(
    session_date: str,
    start_time: str,
    duration_minutes: str,
    service_code: str,
    modality: str,
    note_format: str,
    *,
    service_codes: Mapping[str, str],
) -> SessionDetails:
    """The form's fields, checked; `service_codes` is the practice's list as it is now (the
    admin edits it), passed in so this stays a pure function."""
    try:
        day = date.fromisoformat(session_date.strip())
    except ValueError:
        raise DictationInputError("Session date: use the form YYYY-MM-DD.") from None
    if day > clock.utcnow().date():
        raise DictationInputError("Session date: the session cannot be in the future.")
    start = start_time.strip() or None
    if start is not None and not TIME_PATTERN.match(start):
        raise DictationInputError("Start time: use the form HH:MM.")
    minutes = whole_number(duration_minutes)
    if minutes is None or not 1 <= minutes <= 600:
        raise DictationInputError("Duration: whole minutes between 1 and 600.")
    if service_code not in service_codes:
        raise DictationInputError(
            "Service code: that code is not on the practice's list (an admin may have removed "
            "it); choose one from the list."
        )
    if modality not in MODALITIES:
        raise DictationInputError("Modality: choose one from the list.")
    if note_format not in NOTE_FORMATS and not CUSTOM_FORMAT.match(note_format):
        raise DictationInputError("Note format: choose one from the list.")
    return SessionDetails(day, start, minutes, service_code, modality, note_format)


@dataclass(frozen=True)
class DictationView:
    id: str
    client_id: str
    details: SessionDetails
    source: str
    state: str
    status_message: str | None
    created_at: datetime
    audio_deleted_at: datetime | None
    transcribed_at: datetime | None
    transcript: str | None
    queue_position: int | None
    draft: Draft | None = None
    drafted_at: datetime | None = None
    transcript_deleted_at: datetime | None = None
    # A failed job with something left to work on: its transcript, or audio not yet shredded.
    retryable: bool = False
    format_title: str = ""
    # A streamed recording: the chunks stored, which is the sequence number it expects next.
    chunks_received: int = 0


# Long enough for any session; the speech service applies its own, shorter, limit.
MAX_CHECKED_SECONDS = 4 * 3600
# How much of a recording the upload's sound check decodes at most. Real speech is heard in
# the first second; a file silent for its first 5 minutes is not a dictation, and decoding an
# hour of silence would hold the request (and, before, the database's write lock) for seconds.
LISTEN_SECONDS = 300


@dataclass(frozen=True)
class CheckedAudio:
    """An upload already sniffed and checked for sound (check_audio), ready to be sealed.

    Checked before the unit of work opens: decoding is the slow part of an upload, and inside
    the transaction it would keep every other writer waiting on SQLite's one write lock."""

    data: bytes
    audio_format: str


def check_audio(settings: Settings, audio: bytes) -> CheckedAudio:
    """Size, format and sound, with a clear message (DictationInputError) for each problem."""
    if len(audio) > settings.max_upload_mb * 1024 * 1024:
        raise DictationInputError(f"Audio: the file is larger than {settings.max_upload_mb} MB.")
    audio_format = sniff_format(audio)
    if audio_format is None:
        raise DictationInputError(
            f"Audio: this is not a recording the appliance reads ({ACCEPTED_NAMES})."
        )
    _check_sound(audio)
    return CheckedAudio(audio, audio_format)


def _check_sound(audio: bytes) -> None:
    """A muted microphone or a damaged file is said on the form, before anything is stored:
    a silent recording would otherwise come back, minutes later, as an empty note.

    FFmpeg reads the upload in a process of its own that holds no key (speech_io.sound_check)."""
    try:
        audible = has_sound_isolated(
            audio,
            max_seconds=MAX_CHECKED_SECONDS,
            claimed_audio=True,
            listen_seconds=LISTEN_SECONDS,
        )
    except AudioError as error:
        message = str(error)
        raise DictationInputError(f"Audio: {message[:1].lower()}{message[1:]}") from None
    except SoundCheckFailed:
        # The worker crashed, or needed more memory or time than any recording does: a file
        # built to do that, or one too damaged to say more about. The log has the reason.
        raise DictationInputError(
            "Audio: this recording could not be checked (reading it failed, or took more time "
            "or memory than a recording should). Nothing was saved. Record again, or export "
            "the file as WAV or MP3 and upload that."
        ) from None
    if not audible:
        raise DictationInputError(
            f"Audio: the recording is silent (nothing above {SILENCE_DBFS:g} dBFS). Check that "
            "the microphone is on and not muted, and record again."
        )


def audit_dictation(
    actor: Actor,
    action: str,
    dictation_id: str,
    outcome: Outcome = Outcome.ALLOWED,
    reason: str | None = None,
) -> None:
    """One audit event about a dictation (never its words)."""
    record_by(
        actor, action, outcome, object_type="dictation", object_id=dictation_id, reason=reason
    )


def create_dictation(
    db: Session,
    keys: Keys,
    settings: Settings,
    actor: Actor,
    client_id: str,
    details: SessionDetails,
    *,
    audio: bytes | CheckedAudio | None = None,
    typed_text: str = "",
    submission_key: str | None = None,
    stream_format: str | None = None,
) -> str:
    """Store the submission (sealed) and queue it. Validates everything before storing anything.

    `audio`: pass it checked (check_audio, before the unit of work) from request handlers; raw
    bytes are checked here, for callers without a lock to spare (scripts, tests).
    `submission_key`: the form's own random key. A form sent again with it (the answer to the
    first send was lost to a dropped connection or a restart, and the browser or the person
    sent it again) gets the dictation the first send stored instead of a second one.
    `stream_format`: start a recording whose audio will arrive in chunks of this format
    (appliance.records.recordings.start_recording) instead: state `recording`, an audio key and
    no audio yet. Everything else (who may, the client, the template, the key) as for the rest."""
    if actor.role is not Role.CLINICIAN:
        record_by(actor, "dictation.create", Outcome.DENIED)
        raise AccessDenied("only clinicians submit dictations")
    client = get_client(db, keys, actor, client_id)  # 404 unless it is theirs
    if client.read_only:
        raise AccessDenied("read-only client")
    submission_key = submission_key if valid_submission_key(submission_key) else None
    earlier = _submitted_before(db, actor, submission_key)
    if earlier is not None:
        audit_dictation(actor, "dictation.create", earlier, reason="sent_again")
        return earlier
    text = typed_text.strip()
    checked: CheckedAudio | None = None
    if stream_format is not None:
        if audio or text:
            raise DictationInputError("A streamed recording starts with no audio and no text.")
        if stream_format not in STREAM_FORMATS:
            raise DictationInputError(
                f"Audio format: a recording is streamed as {' or '.join(STREAM_FORMATS)}."
            )
    elif audio:
        checked = audio if isinstance(audio, CheckedAudio) else check_audio(settings, audio)
        if text:
            raise DictationInputError("Give either a recording or typed notes, not both.")
    elif not text:
        raise DictationInputError("Record, upload or type what happened in the session.")
    if len(text) > MAX_TYPED:
        raise DictationInputError(f"Typed notes: at most {MAX_TYPED} characters.")
    template_snapshot = None
    template_id = template_id_of(details.note_format)
    if template_id is not None:
        template = active_template(db, template_id)
        if template is None:
            raise DictationInputError(
                "Note format: that template is no longer offered; choose one from the list."
            )
        # Kept with the dictation: later edits or retirement of the template do not reach it.
        template_snapshot = snapshot(template)

    dictation_id = secrets.token_hex(16)
    key = new_record_key(db, keys.keks, "dictation")
    now = clock.utcnow()
    row = Dictation(
        id=dictation_id,
        client_id=client_id,
        owner_id=actor.user_id,
        data_key_id=key.id,
        session_sealed=seal_session(
            open_record_key(db, keys.keks, client_key_id(db, client_id)), dictation_id, details
        ),
        note_format=details.note_format,
        source="typed" if text else audio_store.STREAMED if stream_format else "audio",
        state=State.DRAFTING if text else State.RECORDING if stream_format else State.QUEUED,
        next_attempt_at=now,
        created_at=now,
        template_snapshot=template_snapshot,
        submission_key=submission_key,
    )
    if text:
        store_transcript(db, keys, row, text)
        row.transcribed_at = now
    elif stream_format is not None:
        # The key every chunk will be sealed under (appliance.records.audio_chunks); shredding
        # it destroys them all, as for an uploaded file.
        row.audio_key_id = new_record_key(db, keys.keks, "audio").id
        row.audio_format, row.audio_bytes, row.last_chunk_at = stream_format, 0, now
    else:
        assert checked is not None
        audio_key = new_record_key(db, keys.keks, "audio")
        # Written (and fsynced) before the row commits: a crash in between leaves an orphan
        # file that nothing can decrypt once its key row is rolled back, never a lost dictation.
        # A write refused (the disk full) leaves no file; a commit refused after it removes it.
        audio_store.write_sealed(settings.data_dir, dictation_id, audio_key, checked.data)
        _remove_audio_on_rollback(settings, dictation_id)
        row.audio_key_id, row.audio_format = audio_key.id, checked.audio_format
        row.audio_bytes = len(checked.data)
    try:
        # A savepoint: two sends of one form at the same moment (PostgreSQL: the lookup above
        # saw neither) meet at the unique key, and the second gets the first's dictation.
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        earlier = _submitted_before(db, actor, submission_key)
        if earlier is None:
            raise
        audio_store.remove(settings.data_dir, dictation_id)
        for unused in (key.id, row.transcript_key_id, row.audio_key_id):
            if unused is not None:
                crypto_shred(db, unused)
        audit_dictation(actor, "dictation.create", earlier, reason="sent_again")
        return earlier
    audit_dictation(actor, "dictation.create", dictation_id)
    return dictation_id


SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,32}")


def new_submission_key() -> str:
    return secrets.token_urlsafe(16)


def valid_submission_key(value: str | None) -> bool:
    return value is not None and SUBMISSION_KEY.fullmatch(value) is not None


def _submitted_before(db: Session, actor: Actor, submission_key: str | None) -> str | None:
    if submission_key is None:
        return None
    return db.exec(
        select(Dictation.id).where(
            Dictation.owner_id == actor.user_id, Dictation.submission_key == submission_key
        )
    ).first()


def _remove_audio_on_rollback(settings: Settings, dictation_id: str) -> None:
    unit = current_unit.get()
    if unit is not None:
        # First: the audit trail's own rollback step opens a transaction, which the same
        # fault (a full disk) may refuse, and the file must go either way.
        unit.after_rollback.insert(0, lambda: audio_store.remove(settings.data_dir, dictation_id))


def visible_dictation(db: Session, keys: Keys, actor: Actor, dictation_id: str) -> Dictation:
    """The dictation if the actor may read it (the client's rule: owner, supervisor), else
    NotFound, audited."""
    row = db.get(Dictation, dictation_id)
    if row is None:
        audit_dictation(actor, "dictation.view", dictation_id, Outcome.DENIED)
        raise NotFound("dictation")
    try:
        get_client(db, keys, actor, row.client_id)  # same rule as the client: owner, supervisor
    except (NotFound, AccessDenied):
        audit_dictation(actor, "dictation.view", dictation_id, Outcome.DENIED)
        raise NotFound("dictation") from None
    return row


def queue_position(db: Session, row: Dictation) -> int | None:
    if row.state != State.QUEUED:
        return None
    ahead = db.exec(
        select(func.count()).where(
            Dictation.state == State.QUEUED.value, Dictation.created_at < row.created_at
        )
    ).one()
    return int(ahead) + 1


def store_transcript(db: Session, keys: Keys, row: Dictation, text: str) -> None:
    """Seal the transcript under a key of its own, so retention can destroy it alone."""
    key = new_record_key(db, keys.keks, "transcript")
    row.transcript_key_id = key.id
    row.transcript_sealed = seal(key, TABLE, row.id, "transcript", text)


def read_transcript(db: Session, keys: Keys, row: Dictation) -> str | None:
    if row.transcript_sealed is None or row.transcript_key_id is None:
        return None
    key = open_record_key(db, keys.keks, row.transcript_key_id)
    return unseal(key, TABLE, row.id, "transcript", row.transcript_sealed)


# The text of a recording's stretches heard so far (appliance.jobs.stretch_stage), sealed under
# the dictation's data key until the whole transcript replaces it at Stop.
PARTIAL_FIELD = "partial_transcript"


def store_partial(db: Session, keys: Keys, row: Dictation, text: str) -> None:
    key = open_record_key(db, keys.keks, row.data_key_id)
    row.partial_transcript_sealed = seal(key, TABLE, row.id, PARTIAL_FIELD, text)


def read_partial(db: Session, keys: Keys, row: Dictation) -> str:
    """The text heard while recording ("" before the first stretch)."""
    if row.partial_transcript_sealed is None:
        return ""
    key = open_record_key(db, keys.keks, row.data_key_id)
    return unseal(key, TABLE, row.id, PARTIAL_FIELD, row.partial_transcript_sealed)


def format_title(row: Dictation) -> str:
    """The format's name: "SOAP", or the custom template's title as it was when submitted."""
    if row.template_snapshot is not None:
        return str(row.template_snapshot["title"])
    return NOTE_FORMATS.get(row.note_format, row.note_format)


def _view(
    db: Session,
    keys: Keys,
    row: Dictation,
    with_transcript: bool,
    details: SessionDetails | None = None,
) -> DictationView:
    transcript, draft = None, None
    if with_transcript:
        transcript = read_transcript(db, keys, row)
        if row.draft_sealed is not None:
            key = open_record_key(db, keys.keks, row.data_key_id)
            document = json.loads(unseal(key, TABLE, row.id, "draft", row.draft_sealed))
            draft = Draft.from_json(document, transcript or "")
    return DictationView(
        id=row.id,
        client_id=row.client_id,
        details=details or session_of(db, keys, row),
        source=row.source,
        state=row.state,
        status_message=row.status_message,
        created_at=row.created_at,
        audio_deleted_at=row.audio_deleted_at,
        transcribed_at=row.transcribed_at,
        transcript=transcript,
        queue_position=queue_position(db, row),
        draft=draft,
        drafted_at=row.drafted_at,
        transcript_deleted_at=row.transcript_deleted_at,
        format_title=format_title(row),
        retryable=row.state == State.FAILED and _can_retry(row),
        chunks_received=row.chunks_received,
    )


def _can_retry(row: Dictation) -> bool:
    has_audio = row.audio_key_id is not None and row.audio_deleted_at is None
    return row.transcript_sealed is not None or has_audio


def get_dictation(db: Session, keys: Keys, actor: Actor, dictation_id: str) -> DictationView:
    row = visible_dictation(db, keys, actor, dictation_id)
    audit_dictation(actor, "dictation.view", dictation_id)
    return _view(db, keys, row, with_transcript=True)


def dictation_for_note(db: Session, keys: Keys, row: Dictation) -> DictationView:
    """The dictation behind a note the caller has already reached (and audited)."""
    return _view(db, keys, row, with_transcript=True)


def dictation_status(db: Session, keys: Keys, actor: Actor, dictation_id: str) -> DictationView:
    """For the progress poll: the state only, no transcript.

    The page that polls recorded `dictation.view` and `client.view` when it was opened; the poll
    repeats the same access check every 2 s, so an allowed one records nothing (it used to write
    a `client.view` line each time, through get_client). A denied poll is recorded as always.
    """
    with allowed_reads_unrecorded():
        row = visible_dictation(db, keys, actor, dictation_id)
    return _view(db, keys, row, with_transcript=False)


def list_dictations(db: Session, keys: Keys, actor: Actor, client_id: str) -> list[DictationView]:
    get_client(db, keys, actor, client_id)  # raises NotFound for someone else's client
    rows = db.exec(
        select(Dictation)
        .where(Dictation.client_id == client_id)
        .order_by(col(Dictation.created_at).desc())
    ).all()
    # The client's key opened once for the whole list, not once a dictation.
    details = sessions_of(db, keys, rows)
    return [_view(db, keys, row, with_transcript=False, details=details[row.id]) for row in rows]


def retry_dictation(db: Session, keys: Keys, actor: Actor, dictation_id: str) -> None:
    row = visible_dictation(db, keys, actor, dictation_id)
    if row.owner_id != actor.user_id:
        raise NotFound("dictation")
    if row.state != State.FAILED:
        return
    if not _can_retry(row):
        return
    # With a transcript, only the draft is redone; else the audio is transcribed again.
    row.state = State.DRAFTING if row.transcript_sealed is not None else State.QUEUED
    row.status_message, row.attempts, row.crashes, row.claimed_at = None, 0, 0, None
    row.next_attempt_at = clock.utcnow()
    db.add(row)
    audit_dictation(actor, "dictation.retry", dictation_id)

"""Psychotherapy notes (HIPAA 164.501): the clinician's private notes on one session.

They are kept apart from the record: one per note, sealed under a data key of their own, read
and written by the note's clinician only, whatever the note's state (they are not part of what
is signed, so signing neither freezes nor includes them). Nothing sends them to a model: the
drafting pipeline and the dictation jobs never import this module.

Two ways out, each chosen by the clinician for one note at a time: releasing them to their
supervisor (read-only, until withdrawn), and printing them into an export they opted into
(`process_note_for_export`). Emergency access never reaches them, nor do admins and auditors.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from appliance import clock
from appliance.access import AccessDenied
from appliance.audit.record import Outcome
from appliance.crypto.envelope import new_record_key, open_record_key, seal, unseal
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import supervisee_ids, supervisor_of
from appliance.models import Note, ProcessNote
from appliance.notes.store import audit_note, reach, reach_as_owner
from appliance.roles import Actor, Role

TABLE = "process_notes"
FIELD = "body"
MAX_PROCESS_NOTE = 20_000

VIEW = "process_note.view"
EDIT = "process_note.edit"
RELEASE = "process_note.release"
EXPORT = "process_note.export"


class ProcessNoteInputError(ValueError):
    """Input the service refuses; the message is for the clinician."""


@dataclass(frozen=True)
class ProcessNoteView:
    note_id: str
    text: str
    updated_at: datetime
    # While set, the clinician's supervisor may read this one note.
    released_at: datetime | None
    # The clinician's own (True), or a supervisor reading a released one (False).
    editable: bool


def _row(db: Session, note_id: str) -> ProcessNote | None:
    return db.exec(select(ProcessNote).where(ProcessNote.note_id == note_id)).first()


def _text(db: Session, keys: Keys, row: ProcessNote) -> str:
    if row.body_sealed is None:
        return ""
    key = open_record_key(db, keys.keks, row.data_key_id)
    return unseal(key, TABLE, row.id, FIELD, row.body_sealed)


def _view(db: Session, keys: Keys, row: ProcessNote, *, editable: bool) -> ProcessNoteView:
    text = _text(db, keys, row)
    return ProcessNoteView(row.note_id, text, row.updated_at, row.released_at, editable)


def _is_owner(actor: Actor, note: Note) -> bool:
    return actor.role is Role.CLINICIAN and note.owner_id == actor.user_id


def read_process_note(
    db: Session, keys: Keys, actor: Actor, note_id: str
) -> ProcessNoteView | None:
    """The clinician's own psychotherapy notes (None until they write some); for their
    supervisor, read-only, only while released, and None otherwise: nothing released looks
    exactly like nothing written, so a supervisor's note page learns nothing either way.

    Anyone else who may read the note (an emergency grantee) is refused with AccessDenied, and
    whoever may not read the note gets NotFound; both are audited."""
    note = reach(db, keys, actor, note_id, VIEW).note
    row = _row(db, note_id)
    if _is_owner(actor, note):
        if row is None:
            return None
        audit_note(actor, VIEW, note_id)
        return _view(db, keys, row, editable=True)
    if actor.role is Role.SUPERVISOR and note.owner_id in supervisee_ids(db, actor.user_id):
        if row is None or row.released_at is None:
            return None
        audit_note(actor, VIEW, note_id, reason="released")
        return _view(db, keys, row, editable=False)
    audit_note(actor, VIEW, note_id, Outcome.DENIED)
    raise AccessDenied("psychotherapy notes are read by their clinician only")


def _cleaned(text: str) -> str:
    # Browsers post CRLF: counted as one character each, as the clinician sees them.
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def save_process_note(
    db: Session, keys: Keys, actor: Actor, note_id: str, text: str
) -> ProcessNoteView:
    """Store the clinician's psychotherapy notes for this note (draft or signed alike). Empty
    text keeps an empty note; unchanged text stores and audits nothing."""
    reach_as_owner(db, keys, actor, note_id, EDIT)
    words = _cleaned(text)
    if len(words) > MAX_PROCESS_NOTE:
        raise ProcessNoteInputError(
            f"Psychotherapy notes hold at most {MAX_PROCESS_NOTE:,} characters "
            f"(these have {len(words):,}). Nothing was saved."
        )
    row = _row(db, note_id)
    now = clock.utcnow()
    if row is None:
        key = new_record_key(db, keys.keks, "process_note")
        row = ProcessNote(
            id=secrets.token_hex(16),
            note_id=note_id,
            owner_id=actor.user_id,
            data_key_id=key.id,
            created_at=now,
            updated_at=now,
        )
    elif _text(db, keys, row) == words:
        return _view(db, keys, row, editable=True)
    else:
        key = open_record_key(db, keys.keks, row.data_key_id)
    row.body_sealed = seal(key, TABLE, row.id, FIELD, words)
    row.updated_at = now
    db.add(row)
    db.flush()
    audit_note(actor, EDIT, note_id)
    return ProcessNoteView(note_id, words, row.updated_at, row.released_at, editable=True)


def release_to_supervisor(
    db: Session, keys: Keys, actor: Actor, note_id: str, released: bool
) -> ProcessNoteView:
    """Let the clinician's supervisor read this one note's psychotherapy notes (`released`), or
    take that back. The release follows the supervision, not the person: a supervisor assigned
    later reads what is released at that time."""
    reach_as_owner(db, keys, actor, note_id, RELEASE)
    row = _row(db, note_id)
    if row is None:
        raise ProcessNoteInputError("There are no psychotherapy notes for this session to release.")
    if released and supervisor_of(db, actor.user_id) is None:
        raise ProcessNoteInputError(
            "No supervisor is assigned to you, so there is no one to release these notes to."
        )
    if released != (row.released_at is not None):
        row.released_at = clock.utcnow() if released else None
        db.add(row)
        audit_note(actor, RELEASE, note_id, reason="released" if released else "withdrawn")
    return _view(db, keys, row, editable=True)


def process_note_for_export(db: Session, keys: Keys, actor: Actor, note_id: str) -> str | None:
    """The psychotherapy notes for a copy the clinician explicitly opted into (a PDF or an
    export): the clinician's own only, audited each time; None when there are none."""
    reach_as_owner(db, keys, actor, note_id, EXPORT)
    row = _row(db, note_id)
    if row is None:
        return None
    text = _text(db, keys, row)
    if not text:
        return None
    audit_note(actor, EXPORT, note_id)
    return text


def process_note_on_page(
    db: Session, keys: Keys, actor: Actor, note_id: str
) -> ProcessNoteView | None:
    """What the note's page shows: the clinician's own psychotherapy notes, or the released
    copy for their supervisor. Nothing for anyone else who reads the note (an emergency
    grantee), who is not even asked for it: a refusal on every page view would be noise."""
    note = db.get(Note, note_id)
    if note is None or actor.role not in (Role.CLINICIAN, Role.SUPERVISOR):
        return None
    if actor.role is Role.CLINICIAN and note.owner_id != actor.user_id:
        return None
    return read_process_note(db, keys, actor, note_id)

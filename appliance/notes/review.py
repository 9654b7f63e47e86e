"""Review and edit: the clinician's working copy, saved with a version, and flags acknowledged.

A note starts when its draft is ready (appliance.jobs.dictation_stages) or, for a draft made
before notes existed, when its clinician starts the review. Saves carry the version the page
was built from: an older version is a conflict, answered with the note as it now is and never
an overwrite of either side.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import Session, select

from appliance import clock
from appliance.access import NotFound
from appliance.audit.record import Outcome
from appliance.crypto.envelope import new_record_key, open_record_key, seal, unseal
from appliance.crypto.keyfiles import Keys
from appliance.drafting.draft import Draft
from appliance.models import Dictation, Note
from appliance.notes.body import NoteBody, body_from_draft
from appliance.notes.checks import open_blocking
from appliance.notes.editing import NoteInputError, SubmittedNote, apply_edit
from appliance.notes.signed import NoteRecords
from appliance.notes.store import (
    TABLE,
    NoteState,
    audit_note,
    open_records,
    reach,
    reach_as_owner,
    read_body,
    write_body,
)
from appliance.records import dictations
from appliance.records.clients import ClientView
from appliance.roles import Actor, Role


def start_note(db: Session, keys: Keys, dictation: Dictation, draft: Draft) -> Note:
    """The note of a freshly drafted dictation: its working copy is the machine draft."""
    existing = db.exec(select(Note).where(Note.dictation_id == dictation.id)).first()
    if existing is not None:
        return existing
    key = new_record_key(db, keys.keks, "note")
    now = clock.utcnow()
    note = Note(
        id=secrets.token_hex(16),
        dictation_id=dictation.id,
        client_id=dictation.client_id,
        owner_id=dictation.owner_id,
        data_key_id=key.id,
        state=NoteState.DRAFT.value,
        created_at=now,
        updated_at=now,
        produced_by=dictation.produced_by,
    )
    body = body_from_draft(draft)
    note.body_sealed = seal(key, TABLE, note.id, "body", json.dumps(body.as_json()))
    db.add(note)
    db.flush()
    return note


def machine_draft(db: Session, keys: Keys, dictation: Dictation) -> Draft | None:
    if dictation.draft_sealed is None:
        return None
    key = open_record_key(db, keys.keks, dictation.data_key_id)
    document = json.loads(
        unseal(key, dictations.TABLE, dictation.id, "draft", dictation.draft_sealed)
    )
    return Draft.from_json(document, "")


def note_id_of(db: Session, dictation_id: str) -> str | None:
    return db.exec(select(Note.id).where(Note.dictation_id == dictation_id)).first()


def begin_review(db: Session, keys: Keys, actor: Actor, dictation_id: str) -> str:
    """The note of a ready dictation, started now if its draft predates notes (the clinician
    pressed "Review and sign"); its id."""
    dictations.get_dictation(db, keys, actor, dictation_id)  # NotFound unless visible; audited
    existing = note_id_of(db, dictation_id)
    if existing is not None:
        return existing
    row = db.get(Dictation, dictation_id)
    assert row is not None
    draft = machine_draft(db, keys, row)
    if actor.role is not Role.CLINICIAN or row.owner_id != actor.user_id or draft is None:
        raise NotFound("note")  # only its clinician starts a review, and only of a draft
    note = start_note(db, keys, row, draft)
    audit_note(actor, "note.start", note.id)
    return note.id


@dataclass(frozen=True)
class NoteView:
    id: str
    dictation: dictations.DictationView
    client: ClientView
    owner_id: int
    state: str
    version: int
    body: NoteBody | None  # the working copy, while a draft
    records: NoteRecords | None  # once signed
    created_at: datetime
    updated_at: datetime
    signed_at: datetime | None
    late_entry: bool
    returned_at: datetime | None
    final_at: datetime | None
    # May this actor edit and sign it (its clinician, while a draft)?
    editable: bool

    @property
    def session_date(self) -> date:
        return self.dictation.details.session_date

    @property
    def blocking(self) -> list[str]:
        """Ids of the flags that keep the note from being signed."""
        return [f.id for f in open_blocking(self.body)] if self.body else []


def get_note(db: Session, keys: Keys, actor: Actor, note_id: str) -> NoteView:
    reached = reach(db, keys, actor, note_id, "note.view")
    note = reached.note
    audit_note(actor, "note.view", note_id)
    # The dictation's page view: session details and the transcript for the provenance links
    # (while it is kept). Read without a second audit line: this view is the note's.
    dictation = dictations.dictation_for_note(db, keys, reached.dictation)
    return NoteView(
        id=note.id,
        dictation=dictation,
        client=reached.client,
        owner_id=note.owner_id,
        state=note.state,
        version=note.version,
        body=read_body(db, keys, note),
        records=open_records(db, keys, note) if note.state != NoteState.DRAFT else None,
        created_at=note.created_at,
        updated_at=note.updated_at,
        signed_at=note.signed_at,
        late_entry=note.late_entry,
        returned_at=note.returned_at,
        final_at=note.final_at,
        editable=(
            note.state == NoteState.DRAFT
            and actor.role is Role.CLINICIAN
            and note.owner_id == actor.user_id
        ),
    )


@dataclass(frozen=True)
class SaveResult:
    saved: bool  # False: a conflict, nothing stored
    version: int
    body: NoteBody
    saved_at: datetime


def save_note(
    db: Session, keys: Keys, actor: Actor, note_id: str, version: int, submitted: SubmittedNote
) -> SaveResult:
    """Apply one save. A stale `version` stores nothing and returns the note as it now is;
    bad input raises NoteInputError (nothing stored)."""
    note = reach_as_owner(db, keys, actor, note_id, "note.edit").note
    if note.state != NoteState.DRAFT:
        raise NoteInputError("This note is signed and cannot change; add an addendum instead.")
    body = read_body(db, keys, note)
    assert body is not None
    if version != note.version:
        audit_note(actor, "note.edit", note_id, Outcome.FAILED, reason="version_conflict")
        return SaveResult(False, note.version, body, note.updated_at)
    outcome = apply_edit(body, submitted)
    if not outcome.anything:
        return SaveResult(True, note.version, body, note.updated_at)
    write_body(db, keys, note, outcome.body)
    note.version += 1
    db.add(note)
    audit_note(actor, "note.edit", note_id)
    return SaveResult(True, note.version, outcome.body, note.updated_at)


def acknowledge_flag(
    db: Session, keys: Keys, actor: Actor, note_id: str, flag_id: str
) -> SaveResult:
    """The clinician has seen the flag and signs anyway: it stops blocking, and the signed
    record lists it with the time it was acknowledged."""
    note = reach_as_owner(db, keys, actor, note_id, "note.flag_ack").note
    if note.state != NoteState.DRAFT:
        raise NoteInputError("This note is signed and cannot change.")
    body = read_body(db, keys, note)
    assert body is not None
    flag = body.flag(flag_id)
    if flag is None:
        raise NoteInputError("That flag no longer exists: the statement it was about changed.")
    if flag.open:
        acknowledged = replace(
            flag, acknowledged_at=clock.utcnow().isoformat(), acknowledged_by=actor.user_id
        )
        flags = tuple(acknowledged if f.id == flag_id else f for f in body.flags)
        body = body.with_flags(flags, body.next_flag)
        write_body(db, keys, note, body)
        note.version += 1
        db.add(note)
        audit_note(actor, "note.flag_ack", note_id, reason=flag.code)
    return SaveResult(True, note.version, body, note.updated_at)

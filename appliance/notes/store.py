"""Reading and writing notes and their signed records, and who may reach them.

Every function that hands out a note checks the actor first, through the same rule as the
client (appliance.records.clients.get_client: the owner, their supervisor, an emergency
grantee read-only), and audits a refusal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.audit.record import Outcome, record_by
from appliance.crypto.envelope import new_record_key, open_record_key, seal, unseal
from appliance.crypto.keyfiles import Keys
from appliance.models import Dictation, Note, NoteRecord, User
from appliance.notes.body import NoteBody
from appliance.notes.canonical import Signer, canonical_json, sha256_hex
from appliance.notes.signed import NoteRecords, SignedRecord
from appliance.records.clients import ClientView, get_client
from appliance.roles import Actor, Role

TABLE = "notes"
RECORDS_TABLE = "note_records"


class NoteState(StrEnum):
    DRAFT = "draft"
    AWAITING_COSIGN = "awaiting_cosign"
    FINAL = "final"


class RecordKind(StrEnum):
    NOTE = "note"
    ADDENDUM = "addendum"
    COSIGN = "cosign"
    RETURN = "return"


@dataclass(frozen=True)
class Reached:
    """A note the actor may see, with its dictation and client."""

    note: Note
    dictation: Dictation
    client: ClientView


def audit_note(
    actor: Actor,
    action: str,
    note_id: str,
    outcome: Outcome = Outcome.ALLOWED,
    reason: str | None = None,
) -> None:
    record_by(actor, action, outcome, object_type="note", object_id=note_id, reason=reason)


def reach(db: Session, keys: Keys, actor: Actor, note_id: str, action: str) -> Reached:
    """The note, if the actor may read it; NotFound (audited) otherwise, never 403, so an id
    probe learns nothing."""
    note = db.get(Note, note_id)
    if note is None:
        audit_note(actor, action, note_id, Outcome.DENIED)
        raise NotFound("note")
    try:
        client = get_client(db, keys, actor, note.client_id)
    except (NotFound, AccessDenied):
        audit_note(actor, action, note_id, Outcome.DENIED)
        raise NotFound("note") from None
    dictation = db.get(Dictation, note.dictation_id)
    assert dictation is not None
    return Reached(note, dictation, client)


def reach_as_owner(db: Session, keys: Keys, actor: Actor, note_id: str, action: str) -> Reached:
    """The note, if the actor is its clinician: supervisors and emergency grantees read it
    but never change it (AccessDenied, audited)."""
    reached = reach(db, keys, actor, note_id, action)
    if actor.role is not Role.CLINICIAN or reached.note.owner_id != actor.user_id:
        audit_note(actor, action, note_id, Outcome.DENIED)
        raise AccessDenied("only the note's clinician changes it")
    return reached


def read_body(db: Session, keys: Keys, note: Note) -> NoteBody | None:
    if note.body_sealed is None:
        return None
    key = open_record_key(db, keys.keks, note.data_key_id)
    return NoteBody.from_json(json.loads(unseal(key, TABLE, note.id, "body", note.body_sealed)))


def write_body(db: Session, keys: Keys, note: Note, body: NoteBody) -> None:
    key = open_record_key(db, keys.keks, note.data_key_id)
    note.body_sealed = seal(key, TABLE, note.id, "body", json.dumps(body.as_json()))
    note.updated_at = clock.utcnow()
    db.add(note)


def signer_of(user: User) -> Signer:
    """Who signs; a person without a signature line signs with their username (only acts that
    do not require one, such as returning a note, get this far without it)."""
    assert user.id is not None
    return Signer(user.id, user.username, user.signature_line or user.username)


def append_record(
    db: Session,
    keys: Keys,
    note: Note,
    kind: RecordKind,
    document: dict[str, Any],
    text: str,
    signer: User,
    signed_at: datetime,
) -> SignedRecord:
    """Seal one signed act under a key of its own; the row can never change afterwards."""
    assert signer.id is not None
    canonical = canonical_json(document)
    digest = sha256_hex(canonical)
    key = new_record_key(db, keys.keks, f"note_{kind.value}")
    row = NoteRecord(
        note_id=note.id,
        kind=kind.value,
        data_key_id=key.id,
        # The row id is not known before the insert, so the associated data binds the note
        # and the key instead: a record copied to another note does not open.
        text_sealed=seal(key, RECORDS_TABLE, note.id, f"{kind.value}.text", text),
        document_sealed=seal(
            key, RECORDS_TABLE, note.id, f"{kind.value}.document", canonical.decode()
        ),
        content_sha256=digest,
        signer_id=signer.id,
        signature_line=document["signer"]["signature_line"],
        signed_at=signed_at,
    )
    db.add(row)
    db.flush()
    return SignedRecord(kind.value, document, text, digest, row.signature_line, row.signed_at)


def _opened(db: Session, keys: Keys, row: NoteRecord) -> SignedRecord:
    key = open_record_key(db, keys.keks, row.data_key_id)
    canonical = unseal(key, RECORDS_TABLE, row.note_id, f"{row.kind}.document", row.document_sealed)
    text = unseal(key, RECORDS_TABLE, row.note_id, f"{row.kind}.text", row.text_sealed)
    return SignedRecord(
        row.kind, json.loads(canonical), text, row.content_sha256, row.signature_line, row.signed_at
    )


def open_records(db: Session, keys: Keys, note: Note) -> NoteRecords | None:
    """The note's signed records in order; None while it is still a draft."""
    rows = db.exec(
        select(NoteRecord).where(NoteRecord.note_id == note.id).order_by(col(NoteRecord.id))
    ).all()
    opened = [_opened(db, keys, row) for row in rows]
    signed = next((r for r in opened if r.kind == RecordKind.NOTE), None)
    if signed is None:
        return None
    cosignatures = [r for r in opened if r.kind == RecordKind.COSIGN]
    return NoteRecords(
        note_id=note.id,
        state=note.state,
        note=signed,
        addenda=tuple(r for r in opened if r.kind == RecordKind.ADDENDUM),
        cosignature=cosignatures[-1] if cosignatures else None,
        returns=tuple(r for r in opened if r.kind == RecordKind.RETURN),
    )


def record_hashes(db: Session, note: Note, *kinds: RecordKind) -> list[str]:
    rows = db.exec(
        select(NoteRecord.content_sha256)
        .where(NoteRecord.note_id == note.id, col(NoteRecord.kind).in_([k.value for k in kinds]))
        .order_by(col(NoteRecord.id))
    ).all()
    return list(rows)

"""Copies of a signed note leaving the page: PDF, text, FHIR, and "Copy note". Each is audited
(`note.download` with the format, `note.copy`); only signed content is ever copied."""

from __future__ import annotations

from sqlmodel import Session

from appliance.access import NotFound
from appliance.audit.record import Outcome
from appliance.crypto.keyfiles import Keys
from appliance.notes.signed import NoteRecords
from appliance.notes.store import audit_note, open_records, reach
from appliance.roles import Actor

FORMATS = frozenset({"pdf", "txt", "fhir"})


def records_for_copy(
    db: Session, keys: Keys, actor: Actor, note_id: str, format: str
) -> NoteRecords:
    """The signed records, for a copy in `format` ("pdf", "txt", "fhir" or "clipboard");
    NotFound for a note that is not signed (a draft is never copied out)."""
    action = "note.copy" if format == "clipboard" else "note.download"
    reached = reach(db, keys, actor, note_id, action)
    records = open_records(db, keys, reached.note)
    if records is None:
        audit_note(actor, action, note_id, Outcome.DENIED, reason="not_signed")
        raise NotFound("signed note")
    audit_note(actor, action, note_id, reason=format)
    return records


def text_copy(records: NoteRecords) -> str:
    """The .txt copy: the note, each addendum and the co-signature, each with its SHA-256."""
    parts = [records.note.text + f"SHA-256: {records.note.sha256}\n"]
    parts.extend(a.text + f"SHA-256: {a.sha256}\n" for a in records.addenda)
    if records.cosignature is not None:
        parts.append(records.cosignature.text + f"SHA-256: {records.cosignature.sha256}\n")
    elif not records.final:
        parts.append("Awaiting co-signature.\n")
    return "\n".join(parts)

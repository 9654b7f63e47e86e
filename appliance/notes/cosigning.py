"""Co-signature: a supervisee's signed note becomes final only when their supervisor co-signs.

The supervisor co-signs with re-authentication, or returns the note with a comment (sealed,
like every record). A returned note is corrected by the clinician's addendum, which puts it
back in the supervisor's queue.
"""

from __future__ import annotations

from sqlmodel import Session

from appliance import clock
from appliance.access import AccessDenied
from appliance.audit.record import Outcome
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import supervisee_ids
from appliance.identity.authentication import PasswordCheck
from appliance.models import User
from appliance.notes.canonical import cosign_document, cosign_text, return_document, return_text
from appliance.notes.signing import NO_SIGNATURE_LINE, SignOutcome, prove_person, refuse
from appliance.notes.store import (
    NoteState,
    Reached,
    RecordKind,
    append_record,
    audit_note,
    reach,
    record_hashes,
    signer_of,
)
from appliance.roles import Actor, Role
from appliance.settings import Settings

MAX_COMMENT = 2_000


def _as_supervisor(db: Session, keys: Keys, actor: Actor, note_id: str, action: str) -> Reached:
    reached = reach(db, keys, actor, note_id, action)
    if actor.role is not Role.SUPERVISOR or reached.note.owner_id not in supervisee_ids(
        db, actor.user_id
    ):
        audit_note(actor, action, note_id, Outcome.DENIED)
        raise AccessDenied("only the clinician's supervisor co-signs")
    return reached


def _waiting(reached: Reached) -> bool:
    note = reached.note
    return note.state == NoteState.AWAITING_COSIGN and note.returned_at is None


def cosign_note(
    db: Session,
    settings: Settings,
    keys: Keys,
    actor: Actor,
    note_id: str,
    *,
    password: str | PasswordCheck,
    code: str = "",
) -> SignOutcome:
    reached = _as_supervisor(db, keys, actor, note_id, "note.cosign")
    note = reached.note
    if not _waiting(reached):
        return refuse(
            actor,
            "note.cosign",
            note_id,
            "not_waiting",
            "This note is not waiting for your co-signature.",
        )
    user = db.get(User, actor.user_id)
    assert user is not None
    if not user.signature_line:
        return refuse(actor, "note.cosign", note_id, "no_signature_line", NO_SIGNATURE_LINE)
    failed = prove_person(db, settings, keys, actor, user, "note.cosign", note_id, password, code)
    if failed is not None:
        return failed
    now = clock.utcnow()
    document = cosign_document(
        note_id=note.id,
        cosigns=record_hashes(db, note, RecordKind.NOTE, RecordKind.ADDENDUM),
        signer=signer_of(user),
        signed_at=now,
    )
    append_record(db, keys, note, RecordKind.COSIGN, document, cosign_text(document), user, now)
    note.state, note.final_at = NoteState.FINAL.value, now
    note.version += 1
    db.add(note)
    audit_note(actor, "note.cosign", note_id)
    return SignOutcome(True, state=note.state)


def return_note(
    db: Session, keys: Keys, actor: Actor, note_id: str, *, comment: str
) -> SignOutcome:
    """Back to the clinician with what to correct; the note stays awaiting co-signature."""
    reached = _as_supervisor(db, keys, actor, note_id, "note.return")
    note = reached.note
    if not _waiting(reached):
        return refuse(
            actor,
            "note.return",
            note_id,
            "not_waiting",
            "This note is not waiting for your co-signature.",
        )
    words = comment.strip()
    if not words:
        return SignOutcome(False, "Say what the clinician should correct.")
    if len(words) > MAX_COMMENT:
        return SignOutcome(False, f"A comment holds at most {MAX_COMMENT} characters.")
    user = db.get(User, actor.user_id)
    assert user is not None
    now = clock.utcnow()
    document = return_document(
        note_id=note.id,
        returns=record_hashes(db, note, RecordKind.NOTE, RecordKind.ADDENDUM),
        comment=words,
        signer=signer_of(user),
        signed_at=now,
    )
    append_record(db, keys, note, RecordKind.RETURN, document, return_text(document), user, now)
    note.returned_at = now
    note.version += 1
    db.add(note)
    audit_note(actor, "note.return", note_id)
    return SignOutcome(True, state=note.state)

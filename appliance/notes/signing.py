"""Signing: the only way a note becomes a record, and addenda, the only way a record grows.

A signature needs the person (password, and the second factor when enrolled), a signature
line, and no blocking flag left open. In one transaction the canonical document is built,
hashed and sealed into `note_records`; the working copy's key is shredded; and, under the
default retention, so are the transcript's and the machine draft's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from appliance import clock, metrics
from appliance.audit.record import Outcome, record_by
from appliance.crypto.envelope import crypto_shred
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import supervisor_of
from appliance.identity.authentication import PasswordCheck
from appliance.identity.reauthentication import reauthenticate
from appliance.models import Dictation, Note, User
from appliance.notes.canonical import (
    ClientFacts,
    SessionFacts,
    addendum_document,
    addendum_text,
    note_document,
    note_text,
)
from appliance.notes.changes import KINDS, draft_changes
from appliance.notes.checks import open_blocking
from appliance.notes.review import machine_draft
from appliance.notes.store import (
    NoteState,
    Reached,
    RecordKind,
    append_record,
    audit_note,
    open_records,
    reach_as_owner,
    read_body,
    signer_of,
)
from appliance.practice.preferences import (
    note_due_days,
    service_codes,
    transcript_retention_days,
)
from appliance.records.dictations import MODALITIES, format_title
from appliance.records.session_details import SessionDetails, session_of
from appliance.roles import Actor
from appliance.settings import Settings

MAX_ADDENDUM = 10_000


@dataclass(frozen=True)
class SignOutcome:
    signed: bool
    # Why not, for the person (fixed wording, never PHI); None when signed.
    message: str | None = None
    state: str | None = None


def refuse(actor: Actor, action: str, note_id: str, reason: str, message: str) -> SignOutcome:
    audit_note(actor, action, note_id, Outcome.FAILED, reason=reason)
    return SignOutcome(False, message)


NO_SIGNATURE_LINE = (
    'Set your signature line (your name and credentials, e.g. "Alice Smith, LMFT") under '
    "My account before signing."
)


def prove_person(
    db: Session,
    settings: Settings,
    keys: Keys,
    actor: Actor,
    user: User,
    action: str,
    note_id: str,
    password: str | PasswordCheck,
    code: str,
) -> SignOutcome | None:
    failure = reauthenticate(db, settings, keys, user, password, code)
    if failure is None:
        return None
    return refuse(actor, action, note_id, failure.value, failure.message)


def session_facts(db: Session, details: SessionDetails, dictation: Dictation) -> SessionFacts:
    return SessionFacts(
        date=details.session_date,
        start_time=details.start_time,
        duration_minutes=details.duration_minutes,
        service_code=details.service_code,
        service_label=service_codes(db).get(details.service_code),
        modality=details.modality,
        modality_label=MODALITIES.get(details.modality, details.modality),
        note_format=dictation.note_format,
        format_title=format_title(dictation),
    )


def _retire_sources(db: Session, actor: Actor, note: Note, dictation: Dictation) -> None:
    """The working copy always; the transcript and the machine draft under the default
    retention ("keep each transcript until its note is signed")."""
    crypto_shred(db, note.data_key_id)
    note.body_sealed = None
    if transcript_retention_days(db) is not None:
        return
    now = clock.utcnow()
    if dictation.transcript_key_id is not None and dictation.transcript_sealed is not None:
        crypto_shred(db, dictation.transcript_key_id)
        dictation.transcript_sealed = None
        dictation.transcript_deleted_at = now
        record_by(
            actor,
            "transcript.delete",
            object_type="dictation",
            object_id=dictation.id,
            reason="signed",
        )
    if dictation.draft_sealed is not None:
        crypto_shred(db, dictation.data_key_id)
        dictation.draft_sealed = None
        record_by(
            actor,
            "draft.delete",
            object_type="dictation",
            object_id=dictation.id,
            reason="signed",
        )
    db.add(dictation)


def sign_note(
    db: Session,
    settings: Settings,
    keys: Keys,
    actor: Actor,
    note_id: str,
    *,
    version: int,
    password: str | PasswordCheck,
    code: str = "",
) -> SignOutcome:
    """Sign the note as its clinician sees it (`version`). A refusal is returned, not raised:
    the caller commits, so a failed password counts towards the lockout."""
    reached = reach_as_owner(db, keys, actor, note_id, "note.sign")
    note, dictation = reached.note, reached.dictation
    if note.state != NoteState.DRAFT:
        return refuse(actor, "note.sign", note_id, "already_signed", "This note is already signed.")
    user = db.get(User, actor.user_id)
    assert user is not None
    if not user.signature_line:
        return refuse(actor, "note.sign", note_id, "no_signature_line", NO_SIGNATURE_LINE)
    supervisor = supervisor_of(db, actor.user_id) if user.requires_cosign else None
    if user.requires_cosign and supervisor is None:
        return refuse(
            actor,
            "note.sign",
            note_id,
            "no_supervisor",
            "Your notes need a supervisor's co-signature, but no supervisor is assigned to "
            "you. Ask an admin to assign one; the note stays a draft.",
        )
    if version != note.version:
        return refuse(
            actor,
            "note.sign",
            note_id,
            "version_conflict",
            "The note changed after this page was loaded (in another tab or window). Review "
            "it as it now is, then sign.",
        )
    body = read_body(db, keys, note)
    assert body is not None
    blocking = open_blocking(body)
    if blocking:
        return refuse(
            actor,
            "note.sign",
            note_id,
            "flags_open",
            f"{len(blocking)} flag{'s' if len(blocking) != 1 else ''} must be fixed or "
            "acknowledged before signing.",
        )
    failed = prove_person(db, settings, keys, actor, user, "note.sign", note_id, password, code)
    if failed is not None:
        return failed
    now = clock.utcnow()
    details = session_of(db, keys, dictation)
    late = (now.date() - details.session_date).days > note_due_days(db)
    draft = machine_draft(db, keys, dictation)
    changes = draft_changes(draft, body) if draft is not None else None
    produced = dict(note.produced_by or {})
    if changes is not None:
        produced["draft_changes"] = changes
    document = note_document(
        note_id=note.id,
        body=body,
        client=_client_facts(reached),
        session=session_facts(db, details, dictation),
        signer=signer_of(user),
        signed_at=now,
        late_entry=late,
        requires_cosign=supervisor is not None,
        produced_by=produced or None,
    )
    append_record(db, keys, note, RecordKind.NOTE, document, note_text(document), user, now)
    _retire_sources(db, actor, note, dictation)
    note.state = (NoteState.AWAITING_COSIGN if supervisor else NoteState.FINAL).value
    note.signed_at, note.late_entry = now, late
    note.final_at = None if supervisor else now
    note.version += 1
    db.add(note)
    audit_note(actor, "note.sign", note_id, reason="late_entry" if late else None)
    if changes is not None and changes["drafted"]:
        for kind in KINDS:
            metrics.NOTE_STATEMENTS_CHANGED.labels(kind).observe(changes[kind] / changes["drafted"])
    return SignOutcome(True, state=note.state)


def _client_facts(reached: Reached) -> ClientFacts:
    client = reached.client
    return ClientFacts(client.id, client.display_name, client.external_id, client.date_of_birth)


def add_addendum(
    db: Session,
    settings: Settings,
    keys: Keys,
    actor: Actor,
    note_id: str,
    *,
    text: str,
    password: str | PasswordCheck,
    code: str = "",
) -> SignOutcome:
    """A signed correction or addition to a signed note; the record itself never changes.
    On a note the supervisor returned, the addendum sends it back to their queue."""
    reached = reach_as_owner(db, keys, actor, note_id, "note.addendum")
    note = reached.note
    if note.state == NoteState.DRAFT:
        return refuse(
            actor,
            "note.addendum",
            note_id,
            "not_signed",
            "This note is not signed yet: edit it directly.",
        )
    words = text.strip()
    if not words:
        return SignOutcome(False, "Write the addendum first.")
    if len(words) > MAX_ADDENDUM:
        return SignOutcome(False, f"An addendum holds at most {MAX_ADDENDUM} characters.")
    user = db.get(User, actor.user_id)
    assert user is not None
    if not user.signature_line:
        return refuse(actor, "note.addendum", note_id, "no_signature_line", NO_SIGNATURE_LINE)
    failed = prove_person(db, settings, keys, actor, user, "note.addendum", note_id, password, code)
    if failed is not None:
        return failed
    records = open_records(db, keys, note)
    assert records is not None
    now = clock.utcnow()
    document = addendum_document(
        note_id=note.id,
        appends=records.note.sha256,
        sequence=len(records.addenda) + 1,
        text=words,
        client=records.note.document["client"],
        session=records.note.document["session"],
        signer=signer_of(user),
        signed_at=now,
    )
    append_record(db, keys, note, RecordKind.ADDENDUM, document, addendum_text(document), user, now)
    if note.returned_at is not None:
        note.returned_at = None  # back in the supervisor's queue
    note.version += 1
    db.add(note)
    audit_note(actor, "note.addendum", note_id)
    return SignOutcome(True, state=note.state)

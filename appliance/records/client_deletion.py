"""Deleting a client: every data key of theirs is crypto-shredded in one transaction.

Only the client's own clinician deletes, after typing the client's name and proving who they
are (password, and the second factor when enrolled). Nothing is decrypted or rewritten: the
ciphertext stays where it is (signed records are append-only anyway) and becomes noise, in the
database and in every backup of it. The client row stays, with no name and no blind index, so
the audit trail's ids still point at "a deleted client"; get_client and list_clients treat it
as nonexistent from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlmodel import Session, col, select

from appliance import clock
from appliance.audit.record import Outcome, record_by
from appliance.crypto.envelope import crypto_shred
from appliance.crypto.keyfiles import Keys
from appliance.identity.authentication import PasswordCheck
from appliance.identity.reauthentication import ReauthFailure, reauthenticate
from appliance.models import (
    Client,
    DataKey,
    Dictation,
    Export,
    Note,
    NoteRecord,
    ProcessNote,
    User,
)
from appliance.notes import export_files
from appliance.notes.exports import LIVE_STATES, ExportState
from appliance.records import audio_store, recording_audio
from appliance.records.after_commit import after_commit
from appliance.records.client_owner import owned_client
from appliance.records.dictations import State
from appliance.roles import Actor
from appliance.settings import Settings

ACTION = "client.delete"
STOPPED = "The client was deleted."
# Keys loaded per query: below every database's limit on bound parameters.
CHUNK = 500

NAME_MISMATCH = (
    "The name you typed does not match this client's name. Type it exactly as it is shown. "
    "Nothing was deleted."
)
REAUTH_MESSAGES = {
    ReauthFailure.BAD_PASSWORD: "The password is not right. Nothing was deleted.",
    ReauthFailure.BAD_CODE: (
        "The authenticator or recovery code is not right (each code works once). "
        "Nothing was deleted."
    ),
    ReauthFailure.LOCKED: (
        "Your account is locked after repeated failures. Nothing was deleted; an admin can "
        "unlock it, or wait and sign in again."
    ),
}


@dataclass(frozen=True)
class DeletionOutcome:
    deleted: bool
    # Why not, for the clinician (fixed wording, never PHI); None when deleted.
    message: str | None = None


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def _refuse(actor: Actor, client_id: str, reason: str, message: str) -> DeletionOutcome:
    record_by(
        actor, ACTION, Outcome.FAILED, object_type="client", object_id=client_id, reason=reason
    )
    return DeletionOutcome(False, message)


def delete_client(
    db: Session,
    settings: Settings,
    keys: Keys,
    actor: Actor,
    client_id: str,
    *,
    typed_name: str,
    password: str | PasswordCheck,
    code: str = "",
) -> DeletionOutcome:
    """Delete the client for good. A refusal is returned, not raised: the caller commits, so a
    failed password counts towards the lockout. NotFound or AccessDenied (audited) for anyone
    but the client's clinician."""
    client = owned_client(db, keys, actor, client_id, ACTION)
    if not typed_name.strip() or _folded(typed_name) != _folded(client.display_name):
        return _refuse(actor, client_id, "name_mismatch", NAME_MISMATCH)
    user = db.get(User, actor.user_id)
    assert user is not None
    failure = reauthenticate(db, settings, keys, user, password, code)
    if failure is not None:
        return _refuse(actor, client_id, failure.value, REAUTH_MESSAGES[failure])
    row = db.get(Client, client_id)
    assert row is not None
    removals = _stop_jobs(db, settings.data_dir, client_id)
    _shred(db, _data_key_ids(db, row))
    row.external_id_index = None
    row.deleted_at = clock.utcnow()
    db.add(row)
    record_by(actor, ACTION, object_type="client", object_id=client_id)
    # Once the keys are gone the files are noise; they go after the commit, so a transaction
    # that rolls back leaves every dictation and export as it was.
    after_commit(db, removals)
    return DeletionOutcome(True)


def _data_key_ids(db: Session, client: Client) -> set[int]:
    """Every data key that seals anything of this client's."""
    ids = {client.data_key_id}
    for data, audio, transcript in db.exec(
        select(Dictation.data_key_id, Dictation.audio_key_id, Dictation.transcript_key_id).where(
            Dictation.client_id == client.id
        )
    ).all():
        ids.update(i for i in (data, audio, transcript) if i is not None)
    # A streamed recording's chunks each have a key of their own.
    ids.update(recording_audio.chunk_key_ids(db, client.id))
    note_ids = select(Note.id).where(Note.client_id == client.id)
    ids.update(db.exec(select(Note.data_key_id).where(Note.client_id == client.id)).all())
    ids.update(
        db.exec(select(NoteRecord.data_key_id).where(col(NoteRecord.note_id).in_(note_ids))).all()
    )
    ids.update(
        db.exec(select(ProcessNote.data_key_id).where(col(ProcessNote.note_id).in_(note_ids))).all()
    )
    ids.update(db.exec(select(Export.data_key_id).where(Export.client_id == client.id)).all())
    return ids


def _shred(db: Session, key_ids: Iterable[int]) -> None:
    ordered = sorted(key_ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        # Loaded in one query, so crypto_shred finds each in the session instead of asking the
        # database once per key (a long-seen client has thousands).
        db.exec(select(DataKey).where(col(DataKey.id).in_(chunk))).all()
        for key_id in chunk:
            crypto_shred(db, key_id)


def _stop_jobs(db: Session, data_dir: Path, client_id: str) -> list[Callable[[], None]]:
    """End the client's dictation and export jobs; what removes their files after the commit.

    A worker in the middle of one of these jobs finds the state changed when it stores its
    result and keeps nothing (appliance.jobs.dictation_stages, appliance.jobs.export_stages)."""
    now = clock.utcnow()
    removals: list[Callable[[], None]] = []
    pending = (
        State.RECORDING.value,  # a chunk or Stop then finds the client gone
        State.QUEUED.value,
        State.TRANSCRIBING.value,
        State.DRAFTING.value,
    )
    for dictation in db.exec(select(Dictation).where(Dictation.client_id == client_id)).all():
        if dictation.state in pending:
            dictation.state, dictation.status_message = State.FAILED.value, STOPPED
            dictation.claimed_at = None
        if dictation.audio_key_id is not None and dictation.audio_deleted_at is None:
            dictation.audio_deleted_at = now
            removals.append(partial(audio_store.remove, data_dir, dictation.id))
        if dictation.transcript_sealed is not None and dictation.transcript_deleted_at is None:
            dictation.transcript_deleted_at = now
        dictation.partial_transcript_sealed = None  # heard while recording; its key dies too
        db.add(dictation)
    for export in db.exec(select(Export).where(Export.client_id == client_id)).all():
        if export.state in LIVE_STATES:
            export.state, export.status_message = ExportState.EXPIRED.value, STOPPED
            export.claimed_at, export.finished_at = None, now
            db.add(export)
        removals.append(partial(export_files.remove, data_dir, export.id))
    return removals

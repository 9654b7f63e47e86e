"""Tables. Every schema change comes with an Alembic migration (tests compare the two)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from appliance.db import UTCDateTime

# Deterministic constraint names, so migrations can name what they alter on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    # Stored lower-cased: "Alice" and "alice" must never be two people (unique identification).
    username: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    # Empty until the person sets it through their one-time setup link.
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mfa_enabled: bool = Field(default=False)
    # TOTP seed, AES-GCM encrypted under the credentials key (see appliance.crypto.credential_box).
    mfa_secret_sealed: bytes | None = Field(default=None)
    # Last accepted TOTP time step: a code is single-use even inside its 30 s window.
    mfa_last_step: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set by an admin: this clinician's signed notes become final only when their supervisor
    # co-signs (pre-licensed clinicians, trainees).
    requires_cosign: bool = Field(default=False)
    # How the person signs ("Alice Smith, LMFT"): printed under every note they sign. Not PHI.
    signature_line: str | None = Field(default=None, max_length=120)


class Supervision(SQLModel, table=True):
    """A supervisor reads and co-signs the notes of the clinicians assigned to them."""

    __tablename__ = "supervisions"

    supervisor_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    clinician_id: int = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")


class UserSession(SQLModel, table=True):
    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the cookie token: a database leak must not hand out live sessions.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=32)
    mfa_passed: bool = Field(default=False)


class SetupToken(SQLModel, table=True):
    """One-time link: the first admin's (no user yet) or a new person's password setup."""

    __tablename__ = "setup_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    purpose: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SystemSetting(SQLModel, table=True):
    """Settings an admin changes at run time (unlike the environment/TOML settings)."""

    __tablename__ = "system_settings"

    key: str = Field(primary_key=True, max_length=64)
    # Text: the service codes list (up to 30 codes with labels, as JSON) outgrew 255 characters.
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class KeyEncryptionKey(SQLModel, table=True):
    """KEKs this database has known, by key id only; lets start-up spot a wrong key file."""

    __tablename__ = "key_encryption_keys"

    kid: str = Field(primary_key=True, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DataKey(SQLModel, table=True):
    """One random AES-256 key per record or file, stored only wrapped by a KEK.

    Crypto-shredding sets `wrapped` to NULL: the record's ciphertext, wherever copies of it
    live (backups included), can never be opened again.
    """

    __tablename__ = "data_keys"

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(foreign_key="key_encryption_keys.kid", max_length=16, index=True)
    wrapped: bytes | None = Field(default=None)
    purpose: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    shredded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Client(SQLModel, table=True):
    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("owner_id", "external_id_index"),)

    # Random, not sequential: a URL must not reveal how many clients a practice has.
    id: str = Field(primary_key=True, max_length=32)
    owner_id: int = Field(foreign_key="users.id", index=True)
    data_key_id: int = Field(foreign_key="data_keys.id")
    # AES-256-GCM under this client's data key; see appliance.crypto.envelope.
    display_name_sealed: bytes
    external_id_sealed: bytes | None = Field(default=None)
    # Blind index (keyed HMAC) so one clinician cannot file two clients under one record number
    # without the database ever holding the number itself.
    external_id_index: str | None = Field(default=None, max_length=64)
    date_of_birth_sealed: bytes | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Set when the client was deleted: every key of theirs is shredded; the row stays so the
    # audit trail's object ids still resolve to "a deleted client".
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only, HMAC-chained. Ids and codes only: never PHI, never free text."""

    __tablename__ = "audit_events"

    seq: int = Field(primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_role: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=48, index=True)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=8, index=True)
    reason: str | None = Field(default=None, max_length=48)
    source_ip: str | None = Field(default=None, max_length=45)
    request_id: str | None = Field(default=None, max_length=32)
    mac: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The single row every append locks first, so concurrent writers form one chain.

    `head_mac` seals (last_seq, last_mac) under the audit key: without it, deleting the newest
    events and pointing the head at an older event (whose MAC is in the table) would verify.
    """

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = Field(default=0)
    last_mac: str = Field(default="", max_length=64)
    head_mac: str = Field(default="", max_length=64)


class EmergencyAccessGrant(SQLModel, table=True):
    """HIPAA emergency access: time-limited read access to another clinician's clients."""

    __tablename__ = "emergency_access_grants"

    id: int | None = Field(default=None, primary_key=True)
    grantee_id: int = Field(foreign_key="users.id", index=True)
    owner_id: int = Field(foreign_key="users.id")
    granted_by: int = Field(foreign_key="users.id")
    # Typed by the admin and shown to auditors. Sealed under the grant's own data key: free
    # text, and the form's warning not to name clients is no guarantee.
    data_key_id: int = Field(foreign_key="data_keys.id")
    reason_sealed: bytes
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccessRequest(SQLModel, table=True):
    """A privileged access change one admin asked for and a second admin must approve.

    Used only when the deployment setting `two_person_access_changes` is on: supervisor
    assignments and setup links re-issued for existing accounts. The row is the request's whole
    history: who asked, who decided and how; the change itself runs only on approval.
    """

    __tablename__ = "access_requests"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    target_id: int = Field(foreign_key="users.id", index=True)
    # For a supervisor assignment: the supervisor (None = remove the supervisor).
    supervisor_id: int | None = Field(default=None, foreign_key="users.id")
    requested_by: int = Field(foreign_key="users.id")
    requested_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    # approved | rejected | withdrawn; None while pending.
    decision: str | None = Field(default=None, max_length=16, index=True)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Dictation(SQLModel, table=True):
    """One session's dictation (audio or typed) and the job that turns it into a transcript.

    The row is the durable job: its state survives restarts, and a worker claims it atomically.
    """

    __tablename__ = "dictations"
    __table_args__ = (UniqueConstraint("owner_id", "submission_key"),)

    id: str = Field(primary_key=True, max_length=32)
    client_id: str = Field(foreign_key="clients.id", index=True, max_length=32)
    owner_id: int = Field(foreign_key="users.id", index=True)
    # Seals the machine draft. The transcript (typed notes too) and the audio each have a key of
    # their own, so each can be shredded alone: the audio the moment its transcript is stored,
    # the transcript when retention says so.
    data_key_id: int = Field(foreign_key="data_keys.id")
    # Date, start time, duration, service code and modality, sealed under the client's data key
    # (appliance.records.session_details): dates of service are PHI.
    session_sealed: bytes
    # A built-in key ("soap") or "custom:<note_templates.id>".
    note_format: str = Field(max_length=40)
    source: str = Field(max_length=8)
    state: str = Field(max_length=16, index=True)
    # A fixed, human-readable message (never PHI, never an exception's text).
    status_message: str | None = Field(default=None, max_length=200)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    audio_key_id: int | None = Field(default=None, foreign_key="data_keys.id")
    audio_format: str | None = Field(default=None, max_length=16)
    audio_bytes: int | None = Field(default=None)
    audio_deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The transcript has its own key too: retention can destroy it while the draft stays.
    transcript_key_id: int | None = Field(default=None, foreign_key="data_keys.id")
    transcript_sealed: bytes | None = Field(default=None)
    transcribed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    transcript_deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The draft (JSON: sections, statements with provenance, fields, flags), sealed.
    draft_sealed: bytes | None = Field(default=None)
    drafted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # A custom template as it was at submission ({id, title, sections: [{key, title, guidance}]}):
    # drafting uses this copy, so editing or retiring the template never changes this dictation.
    # Not sealed: a template holds no PHI.
    template_snapshot: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # What produced the draft (appliance version, speech and LLM model ids, the LLM's class):
    # carried into the signed record, so a note read years later says which models wrote it.
    # Not sealed: model names are not PHI.
    produced_by: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # The new-dictation form's random key (appliance.records.dictations.create_dictation): the
    # same form sent twice stores one dictation. Random, so no PHI.
    submission_key: str | None = Field(default=None, max_length=32)
    # Times a stage raised what none expects (appliance.jobs.dictation_stages.crashed); reset
    # by Retry. Apart from `attempts`, which counts waits for a service that is down.
    crashes: int = Field(default=0)
    # A streamed recording (source "stream", appliance.records.recordings): the chunks stored so
    # far, which is also the sequence number expected next, and when the last one arrived (the
    # idle sweep finishes or shreds a recording that has heard nothing for a while).
    chunks_received: int = Field(default=0)
    last_chunk_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Transcribed while still recording (appliance.jobs.stretch_stage): how much of the audio,
    # in bytes from its start, already has text; that text so far, sealed under the data key;
    # in how many stretches; and when the last stretch's audio was crypto-shredded. At Stop only
    # the audio past `transcribed_bytes` is left to hear.
    transcribed_bytes: int = Field(default=0)
    partial_transcript_sealed: bytes | None = Field(default=None)
    stretches_transcribed: int = Field(default=0)
    stretch_shredded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RecordingChunk(SQLModel, table=True):
    """One chunk of a streamed recording, sealed under a data key of its own.

    A key per chunk, rather than one for the whole recording, is what lets the audio of a
    stretch be crypto-shredded as soon as its text is stored while the rest is still arriving.
    Where the chunk starts in the recording is kept so a stretch (a range of bytes) is read
    from exactly the chunks that hold it. No PHI: numbers only.
    """

    __tablename__ = "recording_chunks"

    dictation_id: str = Field(foreign_key="dictations.id", primary_key=True, max_length=32)
    sequence: int = Field(primary_key=True)
    data_key_id: int = Field(foreign_key="data_keys.id")
    start_byte: int
    byte_count: int


ACTIVE = text("retired_at IS NULL")


class NoteTemplate(SQLModel, table=True):
    """A note format an admin defines: named sections, each with guidance for drafting.

    No PHI (admins write them for the whole practice), so nothing is sealed; every change is
    audited. Retired templates stay, for the record; dictations keep their own copy anyway.
    """

    __tablename__ = "note_templates"
    __table_args__ = (
        # Two active templates must not share a title (case-insensitively): the service layer
        # says so politely, this index makes it true even for two admins saving at once.
        Index(
            "ix_note_templates_title_folded",
            "title_folded",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
    )

    # Random, like the other ids a URL shows.
    id: str = Field(primary_key=True, max_length=32)
    title: str = Field(max_length=60)
    # str.casefold() of the title; casefolding can lengthen a string ("ß" -> "ss").
    title_folded: str = Field(max_length=180)
    # [{key, title, guidance}], in order; keys are derived from titles when saved.
    sections: list[dict[str, str]] = Field(sa_type=JSON)
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Note(SQLModel, table=True):
    """The clinician's working copy of one session's note, and where it stands.

    The machine draft stays in `dictations.draft_sealed`; this is what the clinician edits.
    Once signed, the working copy is shredded: the record lives in `note_records`.
    """

    __tablename__ = "notes"

    id: str = Field(primary_key=True, max_length=32)
    dictation_id: str = Field(foreign_key="dictations.id", unique=True, max_length=32)
    client_id: str = Field(foreign_key="clients.id", index=True, max_length=32)
    owner_id: int = Field(foreign_key="users.id", index=True)
    # Seals the working copy; shredded at signing.
    data_key_id: int = Field(foreign_key="data_keys.id")
    # draft | awaiting_cosign | final
    state: str = Field(max_length=16, index=True)
    # Bumped by every save: a save carrying an older version is a conflict, never an overwrite.
    version: int = Field(default=1)
    body_sealed: bytes | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Signed more than the practice's allowed days after the session.
    late_entry: bool = Field(default=False)
    # Set when the supervisor returns the note; cleared by the clinician's next addendum.
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    final_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    produced_by: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class NoteRecord(SQLModel, table=True):
    """One signed act on a note: the note itself, an addendum, a co-signature or a return.

    Append-only: database triggers refuse UPDATE and DELETE (migration 0006). Each row is
    sealed under a key of its own; `content_sha256` is the hash of the canonical JSON document.
    """

    __tablename__ = "note_records"

    id: int | None = Field(default=None, primary_key=True)
    note_id: str = Field(foreign_key="notes.id", index=True, max_length=32)
    # note | addendum | cosign | return
    kind: str = Field(max_length=12)
    data_key_id: int = Field(foreign_key="data_keys.id")
    text_sealed: bytes
    document_sealed: bytes
    content_sha256: str = Field(max_length=64)
    signer_id: int = Field(foreign_key="users.id")
    signature_line: str = Field(max_length=120)
    signed_at: datetime = Field(sa_type=UTCDateTime)


class ProcessNote(SQLModel, table=True):
    """Psychotherapy notes (HIPAA 164.501): the clinician's private notes on one session.

    Under a key of their own, read by the owning clinician only, never sent to a model, and
    kept out of every output unless the clinician releases them.
    """

    __tablename__ = "process_notes"

    id: str = Field(primary_key=True, max_length=32)
    note_id: str = Field(foreign_key="notes.id", unique=True, max_length=32)
    owner_id: int = Field(foreign_key="users.id", index=True)
    data_key_id: int = Field(foreign_key="data_keys.id")
    body_sealed: bytes | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # Released to the owner's supervisor (one note at a time), or None.
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Export(SQLModel, table=True):
    """A client's records as one zip: a worker job, then a sealed file downloadable once."""

    __tablename__ = "exports"

    id: str = Field(primary_key=True, max_length=32)
    client_id: str = Field(foreign_key="clients.id", index=True, max_length=32)
    requested_by: int = Field(foreign_key="users.id", index=True)
    # Seals the zip on disk; shredded after the download or when it expires.
    data_key_id: int = Field(foreign_key="data_keys.id")
    include_process_notes: bool = Field(default=False)
    # queued | working | ready | downloaded | expired | failed
    state: str = Field(max_length=16, index=True)
    status_message: str | None = Field(default=None, max_length=200)
    progress: int = Field(default=0)
    total: int = Field(default=0)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    file_bytes: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    ready_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

"""Deleting a client: every key of theirs shredded, nothing readable left anywhere, the client
gone for everyone, and nothing deleted without the typed name and the clinician's password."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyotp
import pytest
from sqlalchemy import inspect, text
from sqlmodel import col, select

from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData, verify_chain
from appliance.crypto.envelope import KeyShredded, open_record_key
from appliance.identity import accounts
from appliance.identity.emergency_access import grant_access
from appliance.identity.mfa import begin_enrolment, confirm_enrolment
from appliance.jobs.export_stages import claim_next, process
from appliance.models import (
    Client,
    DataKey,
    Dictation,
    Export,
    Note,
    NoteRecord,
    ProcessNote,
)
from appliance.notes import export_files
from appliance.notes.exports import download_export, request_export
from appliance.notes.process_notes import read_process_note, save_process_note
from appliance.notes.review import get_note
from appliance.practice.preferences import set_transcript_retention_days
from appliance.records import audio_store
from appliance.records.client_deletion import DeletionOutcome, delete_client
from appliance.records.clients import create_client, get_client, list_clients
from appliance.records.dictations import create_dictation, read_transcript
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import (
    CLIENT_NAME,
    TwoSessions,
    new_client,
    two_sessions,
    typed_note,
)
from tests.appliance.identity.enrolment import totp_code
from tests.conftest import PASSWORD, POSTGRES_URL, Browser, People, form_details
from tests.wav import wav_bytes

PRIVATE = "Process: her silence after mentioning Wrocław felt like grief, not resistance."
DICTATED = "Client described a quarrel with her landlord about the broken boiler."
OTHER_TEXT = "Client reports the new job is going well. She denied suicidal ideation."


@pytest.fixture
def actors(people: People) -> dict[str, Actor]:
    return {u.username: accounts.actor_for(u) for u in people.all()}


@dataclass(frozen=True)
class Practice:
    history: TwoSessions
    audio_dictation: str  # still queued: its sealed audio is on disk
    export_id: str  # ready: its sealed zip is on disk
    other_client: str  # alice's, with a note of its own
    other_note: str
    bobs_client: str


@pytest.fixture
def practice(appliance: Appliance, actors: dict[str, Actor]) -> Practice:
    alice = actors["alice"]
    with appliance.unit_of_work() as db:  # transcripts and drafts outlive signing: more to shred
        set_transcript_retention_days(db, 30, by=actors["dave"])
    history = two_sessions(appliance, alice)
    with appliance.unit_of_work() as db:
        save_process_note(db, appliance.keys, alice, history.signed_note, PRIVATE)
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(16_000 * 2) / 16_000)
        audio_dictation = create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            alice,
            history.client_id,
            form_details(),
            audio=wav_bytes(tone),
        )
        export_id = request_export(db, appliance.keys, alice, history.client_id)
    assert claim_next(appliance) == export_id
    process(appliance, export_id)
    other_client = new_client(appliance, alice, "Other Person")
    other_note = typed_note(
        appliance, alice, other_client, OTHER_TEXT, history.draft_date.isoformat()
    )
    bobs_client = new_client(appliance, actors["bob"], "Bob's Client")
    return Practice(history, audio_dictation, export_id, other_client, other_note, bobs_client)


def _delete(
    appliance: Appliance,
    actor: Actor,
    client_id: str,
    typed_name: str = CLIENT_NAME,
    password: str = PASSWORD,
    code: str = "",
) -> DeletionOutcome:
    with appliance.unit_of_work() as db:
        return delete_client(
            db,
            appliance.settings,
            appliance.keys,
            actor,
            client_id,
            typed_name=typed_name,
            password=password,
            code=code,
        )


def _sealed(appliance: Appliance, client_id: str) -> dict[str, list[int]]:
    """Each sealed column (or file) of the client's rows: the data keys that open it."""
    found: dict[str, list[int]] = {}

    def add(label: str, key_id: int | None, sealed: bytes | None) -> None:
        if key_id is not None and sealed is not None:
            found.setdefault(label, []).append(key_id)

    with appliance.unit_of_work() as db:
        client = db.get(Client, client_id)
        assert client is not None
        add("clients.display_name", client.data_key_id, client.display_name_sealed)
        for d in db.exec(select(Dictation).where(Dictation.client_id == client_id)).all():
            add("dictations.transcript", d.transcript_key_id, d.transcript_sealed)
            add("dictations.draft", d.data_key_id, d.draft_sealed)
            add("audio file", d.audio_key_id, b"" if d.audio_key_id else None)
        notes = db.exec(select(Note).where(Note.client_id == client_id)).all()
        note_ids = [n.id for n in notes]
        for n in notes:
            add("notes.body", n.data_key_id, n.body_sealed)
        for r in db.exec(select(NoteRecord).where(col(NoteRecord.note_id).in_(note_ids))).all():
            add("note_records.text", r.data_key_id, r.text_sealed)
            add("note_records.document", r.data_key_id, r.document_sealed)
        for p in db.exec(select(ProcessNote).where(col(ProcessNote.note_id).in_(note_ids))).all():
            add("process_notes.body", p.data_key_id, p.body_sealed)
        for e in db.exec(select(Export).where(Export.client_id == client_id)).all():
            add("export file", e.data_key_id, b"")
    return found


def _opens(appliance: Appliance, key_id: int) -> bool:
    with appliance.unit_of_work() as db:
        try:
            open_record_key(db, appliance.keys.keks, key_id)
        except KeyShredded:
            return False
    return True


EVERY_KIND = {
    "clients.display_name",
    "dictations.transcript",
    "dictations.draft",
    "audio file",
    "notes.body",
    "note_records.text",
    "note_records.document",
    "process_notes.body",
    "export file",
}


def test_deleting_shreds_the_key_of_every_sealed_column_and_file_of_the_client(
    appliance: Appliance, practice: Practice, actors: dict[str, Actor]
) -> None:
    client_id = practice.history.client_id
    sealed = _sealed(appliance, client_id)
    assert set(sealed) == EVERY_KIND
    keys = {key_id for ids in sealed.values() for key_id in ids}
    assert all(_opens(appliance, key_id) for key_id in keys)
    assert _delete(appliance, actors["alice"], client_id).deleted
    assert _sealed(appliance, client_id) == sealed  # the ciphertext stays; it is noise now
    for label, ids in sealed.items():
        for key_id in ids:
            with appliance.unit_of_work() as db, pytest.raises(KeyShredded):
                open_record_key(db, appliance.keys.keks, key_id)
            assert not _opens(appliance, key_id), label
    with appliance.unit_of_work() as db:
        wrapped = db.exec(select(DataKey.wrapped).where(col(DataKey.id).in_(keys))).all()
    assert wrapped == [None] * len(keys)


def test_deleting_leaves_no_plaintext_in_the_database_or_the_data_directory(
    appliance: Appliance, practice: Practice, actors: dict[str, Actor]
) -> None:
    alice, history = actors["alice"], practice.history
    with appliance.unit_of_work() as db:  # everything was stored, and readable, before
        assert get_client(db, appliance.keys, alice, history.client_id).display_name == CLIENT_NAME
        dictation = db.exec(select(Dictation).where(Dictation.client_id == history.client_id)).all()
        transcripts = [read_transcript(db, appliance.keys, d) for d in dictation]
        view = read_process_note(db, appliance.keys, alice, history.signed_note)
    assert any(DICTATED in (t or "") for t in transcripts)
    assert view is not None and view.text == PRIVATE
    assert _delete(appliance, alice, history.client_id).deleted
    needles = [CLIENT_NAME, "Okonkwo", DICTATED, "landlord", PRIVATE, "Wrocław"]
    values = _every_stored_value(appliance)
    assert len(values) > 100
    for needle in needles:
        assert not any(needle.encode() in value for value in values), needle
    files = [p for p in appliance.settings.data_dir.rglob("*") if p.is_file()]
    if not POSTGRES_URL:  # the database's own files, free pages and WAL included
        assert any(p.name.startswith("appliance.db") for p in files)
    raw = b"".join(p.read_bytes() for p in files)
    for needle in needles:
        assert needle.encode() not in raw, needle


def _every_stored_value(appliance: Appliance) -> list[bytes]:
    values: list[bytes] = []
    with appliance.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode())
    return values


def test_the_clients_jobs_stop_and_their_files_are_removed(
    appliance: Appliance, practice: Practice, actors: dict[str, Actor]
) -> None:
    data_dir = appliance.settings.data_dir
    assert audio_store.exists(data_dir, practice.audio_dictation)
    assert export_files.path(data_dir, practice.export_id).exists()
    assert _delete(appliance, actors["alice"], practice.history.client_id).deleted
    assert not audio_store.exists(data_dir, practice.audio_dictation)
    assert not export_files.path(data_dir, practice.export_id).exists()
    with appliance.unit_of_work() as db:
        dictation = db.get(Dictation, practice.audio_dictation)
        export = db.get(Export, practice.export_id)
    assert dictation is not None and export is not None
    assert (dictation.state, dictation.status_message) == ("failed", "The client was deleted.")
    assert dictation.audio_deleted_at is not None
    assert export.state == "expired"
    assert claim_next(appliance) is None  # nothing of theirs is left to work on
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        download_export(db, appliance.settings, appliance.keys, actors["alice"], practice.export_id)


def test_other_clients_of_the_clinician_and_of_others_still_open(
    appliance: Appliance, practice: Practice, actors: dict[str, Actor]
) -> None:
    assert _delete(appliance, actors["alice"], practice.history.client_id).deleted
    with appliance.unit_of_work() as db:
        mine = list_clients(db, appliance.keys, actors["alice"])
        note = get_note(db, appliance.keys, actors["alice"], practice.other_note)
        bobs = get_client(db, appliance.keys, actors["bob"], practice.bobs_client)
    assert [c.display_name for c in mine] == ["Other Person"]
    assert note.body is not None and bobs.display_name == "Bob's Client"


def test_a_deleted_client_no_longer_exists_for_anyone(
    appliance: Appliance,
    practice: Practice,
    actors: dict[str, Actor],
    signed_in: Callable[[str], Browser],
) -> None:
    client_id = practice.history.client_id
    assert _delete(appliance, actors["alice"], client_id).deleted
    for persona in ("alice", "carol"):
        with appliance.unit_of_work() as db, pytest.raises(NotFound):
            get_client(db, appliance.keys, actors[persona], client_id)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        get_note(db, appliance.keys, actors["alice"], practice.history.signed_note)
    with appliance.unit_of_work() as db:
        assert client_id not in [c.id for c in list_clients(db, appliance.keys, actors["carol"])]
    page = signed_in("alice").get(f"/clients/{client_id}")
    assert page.status_code == 404
    assert CLIENT_NAME not in page.text
    with pytest.raises(NotFound):  # nothing left to delete, either
        _delete(appliance, actors["alice"], client_id)


def test_a_record_number_can_be_used_again_once_its_client_is_deleted(
    appliance: Appliance, people: People, actors: dict[str, Actor]
) -> None:
    alice = actors["alice"]
    with appliance.unit_of_work() as db:
        first = create_client(db, appliance.keys, alice, display_name="Ann A", external_id="MRN-7")
    assert _delete(appliance, alice, first.id, typed_name="Ann A").deleted
    with appliance.unit_of_work() as db:
        row = db.get(Client, first.id)
        assert row is not None and row.external_id_index is None and row.deleted_at is not None
        again = create_client(db, appliance.keys, alice, display_name="Ann A", external_id="MRN-7")
    assert again.id != first.id


def test_the_typed_name_is_matched_ignoring_case_and_spacing(
    appliance: Appliance, practice: Practice, actors: dict[str, Actor]
) -> None:
    typed = "  marguerite \t OKONKWO "
    assert _delete(appliance, actors["alice"], practice.history.client_id, typed_name=typed).deleted


def _nothing_deleted(appliance: Appliance, practice: Practice, actors: dict[str, Actor]) -> None:
    with appliance.unit_of_work() as db:
        client = get_client(db, appliance.keys, actors["alice"], practice.history.client_id)
    assert client.display_name == CLIENT_NAME
    sealed = _sealed(appliance, practice.history.client_id)
    assert all(_opens(appliance, key_id) for ids in sealed.values() for key_id in ids)
    assert audio_store.exists(appliance.settings.data_dir, practice.audio_dictation)
    assert export_files.path(appliance.settings.data_dir, practice.export_id).exists()


def test_a_wrong_typed_name_deletes_nothing_and_says_why(
    appliance: Appliance,
    people: People,
    practice: Practice,
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    for typed in ("Marguerite Okonkw", "", "Other Person"):
        outcome = _delete(appliance, actors["alice"], practice.history.client_id, typed_name=typed)
        assert not outcome.deleted and "does not match" in (outcome.message or "")
    _nothing_deleted(appliance, practice, actors)
    with appliance.unit_of_work() as db:  # not a password failure
        assert accounts.get_user(db, people.alice.id or 0).failed_logins == 0
    reasons = [(e.outcome, e.reason) for e in audit_events if e.action == "client.delete"]
    assert reasons == [("failed", "name_mismatch")] * 3


def test_a_wrong_password_deletes_nothing_and_counts_towards_the_lockout(
    appliance: Appliance,
    people: People,
    practice: Practice,
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    client_id = practice.history.client_id
    outcome = _delete(appliance, actors["alice"], client_id, password="not-my-password-at-all")
    assert not outcome.deleted and outcome.message == (
        "The password is not right. Nothing was deleted."
    )
    _nothing_deleted(appliance, practice, actors)
    with appliance.unit_of_work() as db:
        assert accounts.get_user(db, people.alice.id or 0).failed_logins == 1
    reasons = [(e.outcome, e.reason) for e in audit_events if e.action == "client.delete"]
    assert reasons == [("failed", "bad_password")]


def test_with_two_factor_enrolled_the_password_alone_deletes_nothing(
    appliance: Appliance, people: People, practice: Practice, actors: dict[str, Actor]
) -> None:
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        secret = begin_enrolment(db, appliance.keys, user).secret
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        confirm_enrolment(db, appliance.keys, user, totp_code(secret, -1))
    client_id = practice.history.client_id
    refused = _delete(appliance, actors["alice"], client_id, code="000000")
    assert not refused.deleted and "code" in (refused.message or "")
    _nothing_deleted(appliance, practice, actors)
    assert _delete(appliance, actors["alice"], client_id, code=pyotp.TOTP(secret).now()).deleted


def test_only_the_clients_clinician_may_delete_it(
    appliance: Appliance, people: People, practice: Practice, actors: dict[str, Actor]
) -> None:
    client_id = practice.history.client_id
    with pytest.raises(NotFound):
        _delete(appliance, actors["bob"], client_id)
    for persona in ("carol", "dave", "erin"):
        with pytest.raises(AccessDenied):
            _delete(appliance, actors[persona], client_id)
    with appliance.unit_of_work() as db:
        grant_access(
            db,
            appliance.keys,
            actors["dave"],
            grantee=people.bob,
            owner=people.alice,
            reason="alice on unplanned leave; ticket 4411",
            hours=4,
        )
    with pytest.raises(AccessDenied):
        _delete(appliance, actors["bob"], client_id)
    _nothing_deleted(appliance, practice, actors)


def test_the_deletion_is_audited_by_id_and_the_chain_still_verifies(
    appliance: Appliance,
    practice: Practice,
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    client_id = practice.history.client_id
    assert _delete(appliance, actors["alice"], client_id).deleted
    deletions = [e for e in audit_events if e.action == "client.delete"]
    assert [(e.outcome, e.object_type, e.object_id) for e in deletions] == [
        ("allowed", "client", client_id)
    ]
    assert not any("Okonkwo" in repr(e) for e in audit_events)
    report = verify_chain(appliance.engine, appliance.keys.audit)
    assert report.ok and report.count >= len(audit_events)

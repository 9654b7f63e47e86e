"""Signing and addenda: re-authentication, blocking flags, the sealed and hashed record, the
shredding that follows, and a record that nothing can change."""

from __future__ import annotations

import json
from collections.abc import Callable

import pyotp
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from appliance.audit.chain import EventData
from appliance.crypto.envelope import KeyShredded, open_record_key
from appliance.identity import accounts
from appliance.identity.mfa import begin_enrolment, confirm_enrolment
from appliance.models import Dictation, Note, NoteRecord
from appliance.notes.canonical import canonical_json, sha256_hex
from appliance.notes.review import acknowledge_flag, get_note
from appliance.notes.signing import add_addendum, sign_note
from appliance.practice.preferences import set_note_due_days, set_transcript_retention_days
from appliance.records.dictations import read_transcript
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.identity.enrolment import totp_code
from tests.appliance.notes.conftest import (
    NO_RISK,
    blocking_flag,
    note_row,
    set_signature_line,
)
from tests.conftest import PASSWORD, Clock, People

LINE = "Alice Smith, LMFT"


@pytest.fixture
def ready(
    appliance: Appliance, people: People, drafted: Callable[..., str], actors: dict[str, Actor]
) -> str:
    """A note alice can sign: signature line set, its one blocking flag acknowledged."""
    set_signature_line(appliance, people.alice.id or 0, LINE)
    note_id = drafted()
    flag_id = blocking_flag(appliance, note_id)
    with appliance.unit_of_work() as db:
        acknowledge_flag(db, appliance.keys, actors["alice"], note_id, flag_id)
    return note_id


def _sign(appliance: Appliance, actor: Actor, note_id: str, password: str = PASSWORD, **kw: str):  # type: ignore[no-untyped-def]
    version = note_row(appliance, note_id).version
    with appliance.unit_of_work() as db:
        return sign_note(
            db,
            appliance.settings,
            appliance.keys,
            actor,
            note_id,
            version=int(kw.pop("version", version)),
            password=password,
            **kw,
        )


def test_signing_seals_the_canonical_document_and_its_hash(
    appliance: Appliance, ready: str, actors: dict[str, Actor]
) -> None:
    outcome = _sign(appliance, actors["alice"], ready)
    assert outcome.signed and outcome.state == "final"
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, actors["alice"], ready)
        raw = db.exec(text("SELECT document_sealed, text_sealed FROM note_records")).one()
    records = view.records
    assert records is not None and view.state == "final" and view.body is None
    document = records.note.document
    assert records.note.sha256 == sha256_hex(canonical_json(document))
    assert document["signer"] == {
        "id": actors["alice"].user_id,
        "username": "alice",
        "signature_line": LINE,
    }
    statements = [s["text"] for section in document["sections"] for s in section["statements"]]
    assert "She denied suicidal ideation." in statements and len(statements) == 7
    assert [f["code"] for f in document["acknowledged_flags"]] == ["implausible_score"]
    assert "She denied suicidal ideation." in records.note.text and LINE in records.note.text
    for sealed in raw:  # sealed, not stored in clear
        assert b"suicidal" not in bytes(sealed)


def test_signing_shreds_the_working_copy_and_under_default_retention_the_transcript(
    appliance: Appliance, ready: str, actors: dict[str, Actor], audit_events: list[EventData]
) -> None:
    before = note_row(appliance, ready)
    _sign(appliance, actors["alice"], ready)
    with appliance.unit_of_work() as db:
        dictation = db.get(Dictation, before.dictation_id)
        assert dictation is not None
        with pytest.raises(KeyShredded):
            open_record_key(db, appliance.keys.keks, before.data_key_id)
        with pytest.raises(KeyShredded):
            open_record_key(db, appliance.keys.keks, dictation.transcript_key_id or 0)
        assert read_transcript(db, appliance.keys, dictation) is None
        assert dictation.transcript_deleted_at is not None and dictation.draft_sealed is None
    deletions = [(e.action, e.reason) for e in audit_events if e.action.endswith(".delete")]
    assert deletions == [("transcript.delete", "signed"), ("draft.delete", "signed")]


def test_with_a_retention_period_signing_keeps_the_transcript(
    appliance: Appliance, people: People, ready: str, actors: dict[str, Actor]
) -> None:
    with appliance.unit_of_work() as db:
        set_transcript_retention_days(db, 30, by=actors["dave"])
    dictation_id = note_row(appliance, ready).dictation_id
    _sign(appliance, actors["alice"], ready)
    with appliance.unit_of_work() as db:
        dictation = db.get(Dictation, dictation_id)
        assert dictation is not None and read_transcript(db, appliance.keys, dictation)


def test_a_wrong_password_signs_nothing_counts_towards_lockout_and_is_audited(
    appliance: Appliance,
    people: People,
    ready: str,
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    outcome = _sign(appliance, actors["alice"], ready, password="wrong-password-entirely")
    assert not outcome.signed and "password" in (outcome.message or "")
    assert note_row(appliance, ready).state == "draft"
    with appliance.unit_of_work() as db:
        assert accounts.get_user(db, people.alice.id or 0).failed_logins == 1
    assert [(e.outcome, e.reason) for e in audit_events if e.action == "note.sign"] == [
        ("failed", "bad_password")
    ]


def test_repeated_wrong_passwords_lock_the_account_and_end_its_sessions(
    appliance: Appliance, people: People, ready: str, actors: dict[str, Actor]
) -> None:
    for _ in range(appliance.settings.lockout_threshold - 1):
        assert _sign(appliance, actors["alice"], ready, password="nope-nope").message
    last = _sign(appliance, actors["alice"], ready, password="nope-nope")
    assert "locked" in (last.message or "")
    with appliance.unit_of_work() as db:
        assert accounts.is_locked(accounts.get_user(db, people.alice.id or 0))
    # Even the right password is refused while locked.
    assert not _sign(appliance, actors["alice"], ready).signed


def test_open_blocking_flags_refuse_the_signature_on_the_server(
    appliance: Appliance,
    people: People,
    drafted: Callable[..., str],
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    set_signature_line(appliance, people.alice.id or 0, LINE)
    note_id = drafted(NO_RISK)
    outcome = _sign(appliance, actors["alice"], note_id)
    assert not outcome.signed and "flag" in (outcome.message or "")
    assert [e.reason for e in audit_events if e.action == "note.sign"] == ["flags_open"]
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, actors["alice"], note_id)
        for flag_id in view.blocking:
            acknowledge_flag(db, appliance.keys, actors["alice"], note_id, flag_id)
    assert _sign(appliance, actors["alice"], note_id).signed
    with appliance.unit_of_work() as db:
        records = get_note(db, appliance.keys, actors["alice"], note_id).records
    assert records is not None
    risk = next(s for s in records.note.document["sections"] if s["key"] == "risk")
    assert risk["placeholder"] == "Risk not assessed (acknowledged)."


def test_signing_needs_a_signature_line_and_the_version_the_clinician_saw(
    appliance: Appliance, people: People, drafted: Callable[..., str], actors: dict[str, Actor]
) -> None:
    note_id = drafted()
    flag_id = blocking_flag(appliance, note_id)
    with appliance.unit_of_work() as db:
        acknowledge_flag(db, appliance.keys, actors["alice"], note_id, flag_id)
    assert "signature line" in (_sign(appliance, actors["alice"], note_id).message or "")
    set_signature_line(appliance, people.alice.id or 0, LINE)
    stale = _sign(appliance, actors["alice"], note_id, version="1")
    assert not stale.signed and "changed" in (stale.message or "")


def _enrol(appliance: Appliance, user_id: int) -> str:
    with appliance.unit_of_work() as db:
        secret = begin_enrolment(db, appliance.keys, accounts.get_user(db, user_id)).secret
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, user_id)
        confirm_enrolment(db, appliance.keys, user, totp_code(secret, -1))
    return secret


def test_with_mfa_enrolled_signing_needs_a_fresh_code_each_time(
    appliance: Appliance, people: People, ready: str, actors: dict[str, Actor]
) -> None:
    secret = _enrol(appliance, people.alice.id or 0)
    assert "code" in (_sign(appliance, actors["alice"], ready, code="000000").message or "")
    code = pyotp.TOTP(secret).now()
    assert _sign(appliance, actors["alice"], ready, code=code).signed
    # The same code again (an addendum right after): refused, codes are single-use.
    with appliance.unit_of_work() as db:
        again = add_addendum(
            db,
            appliance.settings,
            appliance.keys,
            actors["alice"],
            ready,
            text="Correction.",
            password=PASSWORD,
            code=code,
        )
    assert not again.signed


def test_a_note_signed_after_the_due_days_is_a_late_entry(
    appliance: Appliance, ready: str, actors: dict[str, Actor], frozen_clock: Clock
) -> None:
    with appliance.unit_of_work() as db:
        set_note_due_days(db, 3, by=actors["dave"])
    frozen_clock.advance(days=4)
    _sign(appliance, actors["alice"], ready)
    with appliance.unit_of_work() as db:
        records = get_note(db, appliance.keys, actors["alice"], ready).records
    assert records is not None and records.note.document["late_entry"] is True
    assert "LATE ENTRY" in records.note.text and note_row(appliance, ready).late_entry


def test_a_note_signed_within_the_due_days_is_not_a_late_entry(
    appliance: Appliance, ready: str, actors: dict[str, Actor]
) -> None:
    _sign(appliance, actors["alice"], ready)
    with appliance.unit_of_work() as db:
        records = get_note(db, appliance.keys, actors["alice"], ready).records
    assert records is not None and records.note.document["late_entry"] is False
    assert "LATE ENTRY" not in records.note.text


def test_addenda_are_signed_hashed_and_listed_in_order_and_the_note_never_changes(
    appliance: Appliance, ready: str, actors: dict[str, Actor]
) -> None:
    alice = actors["alice"]
    _sign(appliance, alice, ready)
    with appliance.unit_of_work() as db:
        original = get_note(db, appliance.keys, alice, ready).records
    for words in ("PHQ-9 was 13, not 31.", "Client called to reschedule."):
        with appliance.unit_of_work() as db:
            done = add_addendum(
                db, appliance.settings, appliance.keys, alice, ready, text=words, password=PASSWORD
            )
        assert done.signed
    with appliance.unit_of_work() as db:
        records = get_note(db, appliance.keys, alice, ready).records
    assert records is not None and original is not None
    assert records.note == original.note
    assert [a.document["text"] for a in records.addenda] == [
        "PHQ-9 was 13, not 31.",
        "Client called to reschedule.",
    ]
    assert [a.document["sequence"] for a in records.addenda] == [1, 2]
    assert {a.document["appends"] for a in records.addenda} == {original.note.sha256}


def test_an_addendum_needs_a_signed_note_and_the_password(
    appliance: Appliance, ready: str, actors: dict[str, Actor]
) -> None:
    with appliance.unit_of_work() as db:
        early = add_addendum(
            db,
            appliance.settings,
            appliance.keys,
            actors["alice"],
            ready,
            text="Too soon.",
            password=PASSWORD,
        )
    assert not early.signed
    _sign(appliance, actors["alice"], ready)
    with appliance.unit_of_work() as db:
        wrong = add_addendum(
            db,
            appliance.settings,
            appliance.keys,
            actors["alice"],
            ready,
            text="Correction.",
            password="not-my-password",
        )
    assert not wrong.signed


def test_signed_records_refuse_update_and_delete_in_the_database(
    appliance: Appliance, ready: str, actors: dict[str, Actor]
) -> None:
    _sign(appliance, actors["alice"], ready)
    for statement in (
        "UPDATE note_records SET content_sha256 = 'forged'",
        "UPDATE note_records SET text_sealed = text_sealed",
        "DELETE FROM note_records",
    ):
        with pytest.raises(DatabaseError, match="append-only"), appliance.engine.begin() as c:
            c.execute(text(statement))
    with appliance.unit_of_work() as db:
        assert len(db.exec(text("SELECT id FROM note_records")).all()) == 1
        note = db.get(Note, ready)
        assert note is not None and db.get(NoteRecord, 1) is not None


def test_the_signed_record_names_what_produced_its_draft(
    appliance: Appliance, ready: str, actors: dict[str, Actor]
) -> None:
    _sign(appliance, actors["alice"], ready)
    with appliance.unit_of_work() as db:
        records = get_note(db, appliance.keys, actors["alice"], ready).records
    assert records is not None
    produced = records.note.document["produced_by"]
    assert produced["llm_model"] == appliance.settings.llm_model
    assert produced["llm_class"] == "router" and produced["note_format"] == "soap"
    assert produced["appliance_version"]
    assert produced["draft_changes"] == {
        "kept": 7,
        "edited": 0,
        "moved": 0,
        "added": 0,
        "deleted": 0,
        "drafted": 7,
    }
    json.dumps(produced)  # plain JSON


def test_only_the_notes_clinician_signs(
    appliance: Appliance, ready: str, actors: dict[str, Actor]
) -> None:
    from appliance.access import AccessDenied, NotFound

    with pytest.raises(AccessDenied):
        _sign(appliance, actors["carol"], ready)
    with pytest.raises(NotFound):
        _sign(appliance, actors["bob"], ready)
    assert note_row(appliance, ready).state == "draft"

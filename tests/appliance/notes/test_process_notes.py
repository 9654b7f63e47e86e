"""Psychotherapy notes: sealed apart, the clinician's only, released to the supervisor one note
at a time, never to an emergency grantee, an admin or an auditor, and every access audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.identity.emergency_access import grant_access
from appliance.models import NoteRecord, ProcessNote
from appliance.notes.process_notes import (
    MAX_PROCESS_NOTE,
    ProcessNoteInputError,
    process_note_for_export,
    read_process_note,
    release_to_supervisor,
    save_process_note,
)
from appliance.notes.review import get_note
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import new_client, sign, typed_note
from tests.appliance.notes.conftest import NO_RISK, note_row, set_signature_line
from tests.conftest import People

PRIVATE = "Countertransference: I felt protective when she described the argument with Tomasz."
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def note_id(drafted: Callable[..., str]) -> str:
    return drafted()


def _save(appliance: Appliance, actor: Actor, note_id: str, words: str = PRIVATE) -> None:
    with appliance.unit_of_work() as db:
        save_process_note(db, appliance.keys, actor, note_id, words)


def _read(appliance: Appliance, actor: Actor, note_id: str) -> str | None:
    with appliance.unit_of_work() as db:
        view = read_process_note(db, appliance.keys, actor, note_id)
    return None if view is None else view.text


def _release(appliance: Appliance, actor: Actor, note_id: str, released: bool) -> None:
    with appliance.unit_of_work() as db:
        release_to_supervisor(db, appliance.keys, actor, note_id, released)


def _grant_bob(appliance: Appliance, people: People, actors: dict[str, Actor]) -> None:
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


def test_they_are_sealed_under_a_key_of_their_own(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    _save(appliance, actors["alice"], note_id)
    with appliance.unit_of_work() as db:
        row = db.exec(select(ProcessNote).where(ProcessNote.note_id == note_id)).one()
        raw = db.connection().execute(text("SELECT body_sealed FROM process_notes")).one()[0]
    assert row.data_key_id != note_row(appliance, note_id).data_key_id
    assert b"Countertransference" not in bytes(raw) and b"Tomasz" not in bytes(raw)
    assert _read(appliance, actors["alice"], note_id) == PRIVATE


def test_the_clinician_writes_them_whether_the_note_is_a_draft_or_signed(
    appliance: Appliance, people: People, note_id: str, actors: dict[str, Actor]
) -> None:
    _save(appliance, actors["alice"], note_id, "First thoughts.")
    set_signature_line(appliance, people.alice.id or 0, "Alice Smith, LMFT")
    sign(appliance, actors["alice"], note_id)
    _save(appliance, actors["alice"], note_id, PRIVATE)
    assert _read(appliance, actors["alice"], note_id) == PRIVATE
    with appliance.unit_of_work() as db:
        records = get_note(db, appliance.keys, actors["alice"], note_id).records
        kinds = db.exec(select(NoteRecord.kind)).all()
    assert records is not None and kinds == ["note"]  # the signed record did not change
    assert PRIVATE not in records.note.text


def test_empty_text_keeps_an_empty_note_and_line_breaks_count_once(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    assert _read(appliance, actors["alice"], note_id) is None  # nothing written yet
    _save(appliance, actors["alice"], note_id, "one\r\ntwo")
    assert _read(appliance, actors["alice"], note_id) == "one\ntwo"
    _save(appliance, actors["alice"], note_id, "   ")
    assert _read(appliance, actors["alice"], note_id) == ""


def test_more_than_twenty_thousand_characters_store_nothing(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    _save(appliance, actors["alice"], note_id, "x" * MAX_PROCESS_NOTE)
    with pytest.raises(ProcessNoteInputError, match="20,000"):
        _save(appliance, actors["alice"], note_id, "y" * (MAX_PROCESS_NOTE + 1))
    assert _read(appliance, actors["alice"], note_id) == "x" * MAX_PROCESS_NOTE


def test_the_supervisor_reads_them_only_while_released(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    _save(appliance, actors["alice"], note_id)
    assert _read(appliance, actors["carol"], note_id) is None
    _release(appliance, actors["alice"], note_id, True)
    with appliance.unit_of_work() as db:
        view = read_process_note(db, appliance.keys, actors["carol"], note_id)
    assert view is not None and view.text == PRIVATE and not view.editable
    _release(appliance, actors["alice"], note_id, False)
    assert _read(appliance, actors["carol"], note_id) is None


def test_a_release_covers_one_note_only(
    appliance: Appliance, drafted: Callable[..., str], actors: dict[str, Actor]
) -> None:
    first, second = drafted(), drafted()
    _save(appliance, actors["alice"], first, "About the first session.")
    _save(appliance, actors["alice"], second, "About the second session.")
    _release(appliance, actors["alice"], first, True)
    assert _read(appliance, actors["carol"], first) == "About the first session."
    assert _read(appliance, actors["carol"], second) is None


def test_the_supervisor_never_writes_releases_or_exports_them(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    _save(appliance, actors["alice"], note_id)
    _release(appliance, actors["alice"], note_id, True)
    carol = actors["carol"]
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        save_process_note(db, appliance.keys, carol, note_id, "Overwritten by the supervisor.")
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        release_to_supervisor(db, appliance.keys, carol, note_id, False)
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        process_note_for_export(db, appliance.keys, carol, note_id)
    assert _read(appliance, actors["alice"], note_id) == PRIVATE


def test_another_clinician_finds_no_such_note(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    _save(appliance, actors["alice"], note_id)
    for attempt in (
        lambda db: read_process_note(db, appliance.keys, actors["bob"], note_id),
        lambda db: save_process_note(db, appliance.keys, actors["bob"], note_id, "hello"),
        lambda db: process_note_for_export(db, appliance.keys, actors["bob"], note_id),
    ):
        with appliance.unit_of_work() as db, pytest.raises(NotFound):
            attempt(db)


def test_an_emergency_grantee_reads_the_note_but_never_its_process_notes(
    appliance: Appliance, people: People, note_id: str, actors: dict[str, Actor]
) -> None:
    _save(appliance, actors["alice"], note_id)
    _release(appliance, actors["alice"], note_id, True)  # released to carol, not to bob
    _grant_bob(appliance, people, actors)
    bob = actors["bob"]
    with appliance.unit_of_work() as db:
        assert get_note(db, appliance.keys, bob, note_id).id == note_id
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        read_process_note(db, appliance.keys, bob, note_id)
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        process_note_for_export(db, appliance.keys, bob, note_id)
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        save_process_note(db, appliance.keys, bob, note_id, "Written under emergency access.")


@pytest.mark.parametrize("persona", ["dave", "erin"])
def test_admins_and_auditors_never_reach_them(
    appliance: Appliance, note_id: str, actors: dict[str, Actor], persona: str
) -> None:
    _save(appliance, actors["alice"], note_id)
    _release(appliance, actors["alice"], note_id, True)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        read_process_note(db, appliance.keys, actors[persona], note_id)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        process_note_for_export(db, appliance.keys, actors[persona], note_id)


def test_a_release_needs_notes_and_a_supervisor(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    with pytest.raises(ProcessNoteInputError, match="no psychotherapy notes"):
        _release(appliance, actors["alice"], note_id, True)
    bob = actors["bob"]  # no supervisor is assigned to bob
    today = clock.utcnow().date().isoformat()
    bobs_note = typed_note(appliance, bob, new_client(appliance, bob, "Bo B"), NO_RISK, today)
    _save(appliance, bob, bobs_note)
    with pytest.raises(ProcessNoteInputError, match="No supervisor"):
        _release(appliance, bob, bobs_note, True)


def test_the_copy_for_an_export_is_the_clinicians_and_none_when_empty(
    appliance: Appliance, note_id: str, actors: dict[str, Actor]
) -> None:
    with appliance.unit_of_work() as db:
        assert process_note_for_export(db, appliance.keys, actors["alice"], note_id) is None
    _save(appliance, actors["alice"], note_id)
    with appliance.unit_of_work() as db:
        assert process_note_for_export(db, appliance.keys, actors["alice"], note_id) == PRIVATE


def test_every_access_and_refusal_is_audited_by_id_without_the_text(
    appliance: Appliance,
    people: People,
    note_id: str,
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    _save(appliance, actors["alice"], note_id)
    _read(appliance, actors["alice"], note_id)
    _release(appliance, actors["alice"], note_id, True)
    _read(appliance, actors["carol"], note_id)
    _release(appliance, actors["alice"], note_id, False)
    with appliance.unit_of_work() as db:
        process_note_for_export(db, appliance.keys, actors["alice"], note_id)
    _grant_bob(appliance, people, actors)
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        read_process_note(db, appliance.keys, actors["bob"], note_id)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        read_process_note(db, appliance.keys, actors["erin"], note_id)
    seen = [
        (e.action, e.actor_id, e.outcome, e.reason)
        for e in audit_events
        if e.action.startswith("process_note.")
    ]
    alice, carol = people.alice.id, people.carol.id
    assert seen == [
        ("process_note.edit", alice, "allowed", None),
        ("process_note.view", alice, "allowed", None),
        ("process_note.release", alice, "allowed", "released"),
        ("process_note.view", carol, "allowed", "released"),
        ("process_note.release", alice, "allowed", "withdrawn"),
        ("process_note.export", alice, "allowed", None),
        ("process_note.view", people.bob.id, "denied", None),
        ("process_note.view", people.erin.id, "denied", None),
    ]
    ours = [e for e in audit_events if e.action.startswith("process_note.")]
    assert {(e.object_type, e.object_id) for e in ours} == {("note", note_id)}
    assert not any("Tomasz" in repr(e) for e in audit_events)


def test_nothing_that_talks_to_a_model_can_reach_them() -> None:
    talking = [
        *sorted((ROOT / "appliance" / "drafting").glob("*.py")),
        *sorted((ROOT / "appliance" / "inference").glob("*.py")),
        ROOT / "appliance" / "jobs" / "dictation_stages.py",
    ]
    assert len(talking) > 10
    for module in talking:
        source = module.read_text()
        assert "process_note" not in source and "ProcessNote" not in source, module.name

"""Review: who may read and edit a note, versioned saves, acknowledged flags, all audited."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.models import Dictation
from appliance.notes.editing import NoteInputError, SubmittedNote, SubmittedStatement
from appliance.notes.review import acknowledge_flag, begin_review, get_note, save_note
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.notes.conftest import blocking_flag
from tests.conftest import People, submit_dictation


def _page(appliance: Appliance, actor: Actor, note_id: str) -> list[SubmittedStatement]:
    with appliance.unit_of_work() as db:
        body = get_note(db, appliance.keys, actor, note_id).body
    assert body is not None
    return [SubmittedStatement(s.id, key, s.text) for key, s in body.statements()]


def test_a_ready_dictation_has_a_note_whose_working_copy_is_the_draft(
    appliance: Appliance, drafted: Callable[..., str], actors: dict[str, Actor]
) -> None:
    note_id = drafted()
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, actors["alice"], note_id)
    assert view.state == "draft" and view.version == 1 and view.editable
    assert view.body is not None and view.body.statement("s1") is not None
    assert view.dictation.transcript
    assert [view.body.flag(f).code for f in view.blocking] == ["implausible_score"]  # type: ignore[union-attr]


def test_a_save_bumps_the_version_and_is_audited_as_note_edit(
    appliance: Appliance,
    drafted: Callable[..., str],
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    note_id = drafted()
    alice = actors["alice"]
    page = _page(appliance, alice, note_id)
    page[0] = SubmittedStatement(page[0].id, page[0].section, "Client reports sleeping well.")
    with appliance.unit_of_work() as db:
        result = save_note(db, appliance.keys, alice, note_id, 1, SubmittedNote(page))
    assert result.saved and result.version == 2
    assert ("note.edit", "allowed") in [(e.action, e.outcome) for e in audit_events]
    with appliance.unit_of_work() as db:
        assert get_note(db, appliance.keys, alice, note_id).body.statement("s1").edited  # type: ignore[union-attr]


def test_a_save_from_a_stale_page_is_a_conflict_and_overwrites_nothing(
    appliance: Appliance, drafted: Callable[..., str], actors: dict[str, Actor]
) -> None:
    note_id = drafted()
    alice = actors["alice"]
    first_tab = _page(appliance, alice, note_id)
    mine = [
        SubmittedStatement(first_tab[0].id, first_tab[0].section, "Tab one's words."),
        *first_tab[1:],
    ]
    theirs = [
        SubmittedStatement(first_tab[0].id, first_tab[0].section, "Tab two's words."),
        *first_tab[1:],
    ]
    with appliance.unit_of_work() as db:
        assert save_note(db, appliance.keys, alice, note_id, 1, SubmittedNote(theirs)).saved
    with appliance.unit_of_work() as db:
        stale = save_note(db, appliance.keys, alice, note_id, 1, SubmittedNote(mine))
    assert not stale.saved and stale.version == 2
    assert stale.body.statement("s1").text == "Tab two's words."  # type: ignore[union-attr]
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, alice, note_id)
    assert view.version == 2 and view.body.statement("s1").text == "Tab two's words."  # type: ignore[union-attr]


def test_a_save_that_changes_nothing_keeps_the_version(
    appliance: Appliance, drafted: Callable[..., str], actors: dict[str, Actor]
) -> None:
    note_id = drafted()
    page = _page(appliance, actors["alice"], note_id)
    with appliance.unit_of_work() as db:
        result = save_note(db, appliance.keys, actors["alice"], note_id, 1, SubmittedNote(page))
    assert result.saved and result.version == 1


def test_the_supervisor_reads_but_never_edits_and_others_see_nothing(
    appliance: Appliance,
    drafted: Callable[..., str],
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    note_id = drafted()
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, actors["carol"], note_id)
    assert not view.editable
    page = _page(appliance, actors["alice"], note_id)
    with pytest.raises(AccessDenied), appliance.unit_of_work() as db:
        save_note(db, appliance.keys, actors["carol"], note_id, 1, SubmittedNote(page))
    for name in ("bob", "dave", "erin"):
        with pytest.raises(NotFound), appliance.unit_of_work() as db:
            get_note(db, appliance.keys, actors[name], note_id)
    denied = {(e.actor_id, e.action) for e in audit_events if e.outcome == "denied"}
    assert (actors["carol"].user_id, "note.edit") in denied
    assert (actors["bob"].user_id, "note.view") in denied


def test_acknowledging_a_flag_unblocks_it_and_is_audited_with_its_code(
    appliance: Appliance,
    drafted: Callable[..., str],
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    note_id = drafted()
    flag_id = blocking_flag(appliance, note_id)
    with appliance.unit_of_work() as db:
        result = acknowledge_flag(db, appliance.keys, actors["alice"], note_id, flag_id)
    assert result.version == 2 and not result.body.flag(flag_id).open  # type: ignore[union-attr]
    with appliance.unit_of_work() as db:
        assert get_note(db, appliance.keys, actors["alice"], note_id).blocking == []
    acks = [e for e in audit_events if e.action == "note.flag_ack"]
    assert [(a.outcome, a.reason) for a in acks] == [("allowed", "implausible_score")]
    with pytest.raises(NoteInputError), appliance.unit_of_work() as db:
        acknowledge_flag(db, appliance.keys, actors["alice"], note_id, "f99")


def test_a_draft_stored_before_notes_existed_gets_its_note_when_review_begins(
    appliance: Appliance, people: People, drafted: Callable[..., str], actors: dict[str, Actor]
) -> None:
    note_id = drafted()
    with appliance.unit_of_work() as db:
        from appliance.models import Note

        note = db.get(Note, note_id)
        assert note is not None
        dictation_id = note.dictation_id
        db.delete(note)  # as if drafted by an appliance older than notes
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        begin_review(db, appliance.keys, actors["carol"], dictation_id)
    with appliance.unit_of_work() as db:
        started = begin_review(db, appliance.keys, actors["alice"], dictation_id)
    with appliance.unit_of_work() as db:
        assert begin_review(db, appliance.keys, actors["alice"], dictation_id) == started
        assert get_note(db, appliance.keys, actors["alice"], started).body is not None


def test_a_dictation_still_drafting_has_no_note(
    appliance: Appliance, people: People, actors: dict[str, Actor]
) -> None:
    dictation_id = submit_dictation(appliance, people, typed_text="Client reports progress.")
    with appliance.unit_of_work() as db:
        assert db.get(Dictation, dictation_id).state == "drafting"  # type: ignore[union-attr]
        with pytest.raises(NotFound):
            begin_review(db, appliance.keys, actors["alice"], dictation_id)

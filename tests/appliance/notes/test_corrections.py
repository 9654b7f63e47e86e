"""Accepting a suggested correction: only the note's clinician, only on a draft, exactly the
suggested words, the citation kept, the correction recorded, and an audit event with no PHI."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.identity import accounts
from appliance.notes.body import NoteBody, NoteStatement
from appliance.notes.corrections import (
    STALE,
    Offered,
    accept_suggestion,
    offers_suggestions,
    suggestions_for,
)
from appliance.notes.editing import NoteInputError, SubmittedNote, SubmittedStatement
from appliance.notes.review import get_note, save_note
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import sign
from tests.appliance.notes.misheard_note import CORRECTED, MISHEARD, misheard_note
from tests.conftest import People


def _body(appliance: Appliance, actor: Actor, note_id: str) -> NoteBody:
    with appliance.unit_of_work() as db:
        body = get_note(db, appliance.keys, actor, note_id).body
    assert body is not None
    return body


def _statement_with(body: NoteBody, words: str) -> NoteStatement:
    return next(s for _, s in body.statements() if words in s.text)


def _offer(body: NoteBody, words: str) -> Offered:
    statement = _statement_with(body, words)
    return next(o for o in suggestions_for(body)[statement.id] if o.heard == words)


@pytest.fixture
def alice(people: People) -> Actor:
    return accounts.actor_for(people.alice)


def test_alice_accepts_a_suggestion_and_the_statement_keeps_its_citation(
    appliance: Appliance, people: People, alice: Actor
) -> None:
    note_id = misheard_note(appliance, people)
    before = _body(appliance, alice, note_id)
    misheard = _statement_with(before, MISHEARD)
    with appliance.unit_of_work() as db:
        result = accept_suggestion(db, appliance.keys, alice, note_id, _offer(before, MISHEARD))
    assert result.saved and result.version == 2
    after = _body(appliance, alice, note_id).statement(misheard.id)
    assert after is not None and after.text == CORRECTED
    assert after.provenance == misheard.provenance  # the words it came from: unchanged
    assert after.provenance[0].text == "We completed 18 sets of bilateral I movements."
    assert after.edited and not after.detached and after.origin == misheard.origin
    (correction,) = after.corrections
    assert (correction.heard, correction.term) == (MISHEARD, "bilateral eye movements")
    assert correction.reason == "sounds_alike" and correction.accepted_by == alice.user_id
    assert correction.accepted_at  # when, in ISO 8601
    # The accepted suggestion is no longer offered; the other statement's still is.
    offered = suggestions_for(_body(appliance, alice, note_id))
    assert misheard.id not in offered
    assert [o.term for values in offered.values() for o in values] == ["sertraline"]


def test_the_acceptance_is_audited_without_the_words(
    appliance: Appliance, people: People, alice: Actor, audit_events: list[EventData]
) -> None:
    note_id = misheard_note(appliance, people)
    offer = _offer(_body(appliance, alice, note_id), "certraline")
    with appliance.unit_of_work() as db:
        accept_suggestion(db, appliance.keys, alice, note_id, offer)
    (event,) = [e for e in audit_events if e.action == "note.suggestion_accept"]
    assert (event.outcome, event.object_id, event.reason) == ("allowed", note_id, "looks_alike")
    written = json.dumps(asdict(event), default=str).lower()
    assert "certraline" not in written and "sertraline" not in written


def test_a_medication_the_dictation_never_named_is_still_flagged_after_the_correction(
    appliance: Appliance, people: People, alice: Actor
) -> None:
    note_id = misheard_note(appliance, people)
    offer = _offer(_body(appliance, alice, note_id), "certraline")
    with appliance.unit_of_work() as db:
        result = accept_suggestion(db, appliance.keys, alice, note_id, offer)
    flags = [f for f in result.body.flags if f.statement == offer.statement]
    assert [(f.code, f.message) for f in flags] == [
        ("ungrounded", "Not in the cited dictation: sertraline.")
    ]


def test_bob_cannot_accept_on_alices_note_and_carol_reads_but_cannot(
    appliance: Appliance, people: People, alice: Actor, audit_events: list[EventData]
) -> None:
    note_id = misheard_note(appliance, people)
    offer = _offer(_body(appliance, alice, note_id), MISHEARD)
    with pytest.raises(NotFound), appliance.unit_of_work() as db:
        accept_suggestion(db, appliance.keys, accounts.actor_for(people.bob), note_id, offer)
    carol = accounts.actor_for(people.carol)
    with pytest.raises(AccessDenied), appliance.unit_of_work() as db:
        accept_suggestion(db, appliance.keys, carol, note_id, offer)
    denied = {(e.actor_id, e.action) for e in audit_events if e.outcome == "denied"}
    assert (people.bob.id, "note.suggestion_accept") in denied
    assert (people.carol.id, "note.suggestion_accept") in denied
    assert _statement_with(_body(appliance, alice, note_id), MISHEARD).corrections == ()


def test_a_signed_note_refuses_a_suggestion(
    appliance: Appliance, people: People, alice: Actor
) -> None:
    note_id = misheard_note(appliance, people)
    offer = _offer(_body(appliance, alice, note_id), MISHEARD)
    with appliance.unit_of_work() as db:
        accounts.set_signature_line(db, alice, "Alice Smith, LMFT")
    sign(appliance, alice, note_id)
    with pytest.raises(NoteInputError, match="signed"), appliance.unit_of_work() as db:
        accept_suggestion(db, appliance.keys, alice, note_id, offer)


def test_a_suggestion_for_words_since_changed_is_refused_and_changes_nothing(
    appliance: Appliance, people: People, alice: Actor, audit_events: list[EventData]
) -> None:
    note_id = misheard_note(appliance, people)
    body = _body(appliance, alice, note_id)
    offer = _offer(body, MISHEARD)
    # Another tab rewords the statement: the offsets now point at other words.
    page = [
        SubmittedStatement(s.id, key, "Sets: bilateral I movements." if s.id == offer.statement
                           else s.text)
        for key, s in body.statements()
    ]  # fmt: skip
    with appliance.unit_of_work() as db:
        assert save_note(db, appliance.keys, alice, note_id, 1, SubmittedNote(page)).saved
    with pytest.raises(NoteInputError) as refused, appliance.unit_of_work() as db:
        accept_suggestion(db, appliance.keys, alice, note_id, offer)
    assert str(refused.value) == STALE
    after = _body(appliance, alice, note_id).statement(offer.statement)
    assert after is not None and after.text == "Sets: bilateral I movements."
    assert after.corrections == ()
    failed = [e for e in audit_events if e.action == "note.suggestion_accept"]
    assert [(e.outcome, e.reason) for e in failed] == [("failed", "stale_suggestion")]


def test_a_term_the_page_never_offered_is_refused(
    appliance: Appliance, people: People, alice: Actor
) -> None:
    note_id = misheard_note(appliance, people)
    offer = _offer(_body(appliance, alice, note_id), MISHEARD)
    forged = Offered(offer.statement, offer.start, offer.end, offer.heard, "anything at all", "")
    with pytest.raises(NoteInputError), appliance.unit_of_work() as db:
        accept_suggestion(db, appliance.keys, alice, note_id, forged)


def test_words_the_clinician_added_or_detached_get_no_suggestions(
    appliance: Appliance, people: People, alice: Actor
) -> None:
    note_id = misheard_note(appliance, people)
    body = _body(appliance, alice, note_id)
    misheard = _statement_with(body, MISHEARD)
    page = [
        SubmittedStatement(s.id, key, s.text, detach=s.id == misheard.id)
        for key, s in body.statements()
    ]
    page.append(SubmittedStatement(None, "plan", "Continue bilateral I movements next time."))
    with appliance.unit_of_work() as db:
        save_note(db, appliance.keys, alice, note_id, 1, SubmittedNote(page))
    after = _body(appliance, alice, note_id)
    offered = suggestions_for(after)
    assert misheard.id not in offered
    added = _statement_with(after, "next time")
    assert not offers_suggestions(added) and added.id not in offered


def test_a_correction_survives_the_working_copys_round_trip(
    appliance: Appliance, people: People, alice: Actor
) -> None:
    note_id = misheard_note(appliance, people)
    offer = _offer(_body(appliance, alice, note_id), MISHEARD)
    with appliance.unit_of_work() as db:
        result = accept_suggestion(db, appliance.keys, alice, note_id, offer)
    assert NoteBody.from_json(json.loads(json.dumps(result.body.as_json()))) == result.body

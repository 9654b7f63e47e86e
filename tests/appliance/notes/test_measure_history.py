"""A client's PHQ-9, GAD-7 and SUD over sessions (appliance.notes.measure_history): read from the
signed record once there is one and from the working copy before, strictly, through the
client's access rule, with one audit event that names nothing but the client's id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pytest

from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.identity import accounts
from appliance.identity.emergency_access import grant_access
from appliance.notes.editing import SubmittedFieldValue, SubmittedNote, SubmittedStatement
from appliance.notes.measure_history import (
    ACTION,
    GAD_7,
    PHQ_9,
    SUD,
    SUD_END,
    SUD_START,
    MeasureHistory,
    Reason,
    measure_history,
    read_measures,
)
from appliance.notes.review import get_note, save_note
from appliance.roles import Actor
from appliance.runtime import Appliance
from tests.appliance.client_history import new_client, sign
from tests.appliance.notes.measured_sessions import SIGNATURE, measured_session
from tests.conftest import People


def history_of(appliance: Appliance, actor: Actor, client_id: str) -> MeasureHistory:
    with appliance.unit_of_work() as db:
        return measure_history(db, appliance.keys, actor, client_id)


def edit_field(appliance: Appliance, actor: Actor, note_id: str, name: str, value: str) -> None:
    """The clinician changes one field's first value on the review page (every statement sent
    back unchanged, as the page does)."""
    with appliance.unit_of_work() as db:
        view = get_note(db, appliance.keys, actor, note_id)
        assert view.body is not None
        statements = [SubmittedStatement(s.id, key, s.text) for key, s in view.body.statements()]
        submitted = SubmittedNote(statements, {name: [SubmittedFieldValue(0, value)]})
        assert save_note(db, appliance.keys, actor, note_id, view.version, submitted).saved


@pytest.fixture
def alice(people: People, appliance: Appliance) -> Actor:
    actor = accounts.actor_for(people.alice)
    with appliance.unit_of_work() as db:
        accounts.set_signature_line(db, actor, SIGNATURE)
    return actor


def test_it_lists_sessions_oldest_first_with_signed_and_draft_marked(
    appliance: Appliance, alice: Actor
) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    # Entered out of order: the history follows the session dates, not the order of entry.
    later = measured_session(appliance, alice, client_id, "PHQ-9 was 9. GAD-7 was 6.", "2026-10-20")
    first = measured_session(
        appliance, alice, client_id, "PHQ-9 was 15. GAD-7 was 12.", "2026-10-06"
    )
    measured_session(appliance, alice, client_id, "Client reports a quiet week.", "2026-10-13")
    sign(appliance, alice, first)

    history = history_of(appliance, alice, client_id)

    assert [(s.note_id, s.session_date, s.signed) for s in history.sessions] == [
        (first, date(2026, 10, 6), True),
        (later, date(2026, 10, 20), False),
    ]
    assert [dict(s.values) for s in history.sessions] == [
        {"phq_9": 15, "gad_7": 12},
        {"phq_9": 9, "gad_7": 6},
    ]


def test_it_takes_the_latest_draft_and_then_the_signed_record(
    appliance: Appliance, alice: Actor
) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    note_id = measured_session(appliance, alice, client_id, "PHQ-9 was 14.", "2026-10-06")
    edit_field(appliance, alice, note_id, "phq_9", "12")  # the clinician corrects the score

    drafted = history_of(appliance, alice, client_id).sessions[0]
    assert (drafted.values["phq_9"], drafted.signed) == (12, False)

    sign(appliance, alice, note_id)  # shreds the working copy: only the record is left
    signed = history_of(appliance, alice, client_id).sessions[0]
    assert (signed.values["phq_9"], signed.signed) == (12, True)


def test_values_off_the_scale_are_left_out_and_said_so(appliance: Appliance, alice: Actor) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    note_id = measured_session(
        appliance, alice, client_id, "PHQ-9 score was 31 today. GAD-7 was 8.", "2026-10-06"
    )
    sign(appliance, alice, note_id)  # the implausible-score flag acknowledged

    (only,) = history_of(appliance, alice, client_id).sessions
    assert dict(only.values) == {"gad_7": 8}
    assert [(x.series, x.text, x.reason) for x in only.left_out] == [
        (PHQ_9, "31", Reason.OUT_OF_RANGE)
    ]
    assert only.left_out[0].message == "outside the scale (0 to 27)"


def test_emdr_start_and_end_and_another_modalitys_from_to_give_both_sud_values(
    appliance: Appliance, alice: Actor
) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    emdr = "Phase 4 desensitization. Starting SUD was 7. After 8 sets the SUD dropped to 2."
    measured_session(appliance, alice, client_id, emdr, "2026-10-06", modality="emdr")
    measured_session(
        appliance, alice, client_id, "The SUD went from 6 to 3 in exposure.", "2026-10-13"
    )

    values = [dict(s.values) for s in history_of(appliance, alice, client_id).sessions]

    assert values == [{"sud_start": 7, "sud_end": 2}, {"sud_start": 6, "sud_end": 3}]


@pytest.mark.parametrize(
    ("fields", "values"),
    [
        ({"phq_9": ["11 (down from 15)"]}, {"phq_9": 11}),  # the 15 was another session's
        ({"phq_9": ["eleven"]}, {"phq_9": 11}),
        ({"gad_7": ["0"]}, {"gad_7": 0}),
        ({"gad_7": ["21 out of 21"]}, {"gad_7": 21}),
        ({"sud": ["3 (down from 8)"]}, {"sud_start": 8, "sud_end": 3}),
        ({"sud": ["6"]}, {"sud_start": 6}),
        ({"sud": ["8", "5", "2.5"]}, {"sud_start": 8, "sud_end": 2.5}),
        ({"sud": ["8 out of 10"]}, {"sud_start": 8}),
        ({"sud_start": ["7"], "sud_end": ["2 out of ten"]}, {"sud_start": 7, "sud_end": 2}),
        ({"sud_end": ["1"]}, {"sud_end": 1}),
    ],
)
def test_a_value_is_read_from_the_words_a_note_holds(
    fields: Mapping[str, Sequence[str]], values: dict[str, float]
) -> None:
    read, left_out = read_measures(fields)
    assert (read, left_out) == (values, [])


@pytest.mark.parametrize(
    ("fields", "series", "reason"),
    [
        ({"phq_9": ["28"]}, PHQ_9, Reason.OUT_OF_RANGE),
        ({"gad_7": ["-1"]}, GAD_7, Reason.NOT_A_NUMBER),
        ({"gad_7": ["12.5"]}, GAD_7, Reason.NOT_WHOLE),
        ({"phq_9": ["not done"]}, PHQ_9, Reason.NOT_DONE),
        ({"phq_9": ["about 11?"]}, PHQ_9, Reason.NOT_A_NUMBER),
        ({"phq_9": ["11 or 12"]}, PHQ_9, Reason.NOT_A_NUMBER),
        ({"phq_9": ["1" * 500]}, PHQ_9, Reason.NOT_A_NUMBER),
        ({"sud": ["70 out of 100"]}, SUD, Reason.ANOTHER_SCALE),
        ({"sud": ["40"]}, SUD, Reason.OUT_OF_RANGE),
        ({"sud": ["3 (down from 80)"]}, SUD, Reason.OUT_OF_RANGE),  # a 0-100 SUD
        ({"sud_start": ["11"]}, SUD_START, Reason.OUT_OF_RANGE),
        ({"sud_end": ["40%"]}, SUD_END, Reason.NOT_A_NUMBER),
    ],
)
def test_a_value_that_is_not_one_score_on_the_scale_is_left_out(
    fields: Mapping[str, Sequence[str]], series: object, reason: Reason
) -> None:
    read, left_out = read_measures(fields)
    assert read == {}
    assert [(x.series, x.reason) for x in left_out] == [(series, reason)]


def test_a_second_value_in_one_note_is_left_out_as_repeated() -> None:
    read, left_out = read_measures({"phq_9": ["14", "12"]})
    assert read == {"phq_9": 14}
    assert [(x.text, x.reason) for x in left_out] == [("12", Reason.REPEATED)]


def test_carol_reads_her_supervisees_client(
    appliance: Appliance, alice: Actor, actors: dict[str, Actor]
) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    measured_session(appliance, alice, client_id, "PHQ-9 was 9.", "2026-10-06")
    carols = history_of(appliance, actors["carol"], client_id)
    assert [dict(s.values) for s in carols.sessions] == [{"phq_9": 9}]


def test_bob_and_dave_are_refused_and_each_refusal_is_audited(
    appliance: Appliance, alice: Actor, actors: dict[str, Actor], audit_events: list[EventData]
) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    measured_session(appliance, alice, client_id, "PHQ-9 was 9.", "2026-10-06")
    audit_events.clear()

    with pytest.raises(NotFound):
        history_of(appliance, actors["bob"], client_id)
    with pytest.raises(AccessDenied):
        history_of(appliance, actors["dave"], client_id)

    denied = [(e.actor_id, e.outcome) for e in audit_events]
    assert denied == [(actors["bob"].user_id, "denied"), (actors["dave"].user_id, "denied")]
    assert not [e for e in audit_events if e.action == ACTION]


def test_the_read_is_one_audit_event_that_names_only_the_client(
    appliance: Appliance, alice: Actor, audit_events: list[EventData]
) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    for day in ("2026-10-06", "2026-10-13", "2026-10-20"):
        measured_session(
            appliance, alice, client_id, "PHQ-9 was 13. The SUD went from 6 to 3.", day
        )
    audit_events.clear()

    history_of(appliance, alice, client_id)

    reads = [e for e in audit_events if e.action == ACTION]
    assert len(reads) == 1
    event = reads[0]
    # No value, session date, note id or name: only who read which client, and that it worked.
    assert (event.outcome, event.object_type, event.object_id, event.reason) == (
        "allowed",
        "client",
        client_id,
        None,
    )
    assert {e.action for e in audit_events} == {"client.view", ACTION}


def test_an_emergency_grantees_read_is_recorded_as_a_use_of_the_grant(
    appliance: Appliance,
    alice: Actor,
    people: People,
    actors: dict[str, Actor],
    audit_events: list[EventData],
) -> None:
    client_id = new_client(appliance, alice, "Ann A")
    measured_session(appliance, alice, client_id, "PHQ-9 was 9.", "2026-10-06")
    with appliance.unit_of_work() as db:
        grant = grant_access(
            db,
            appliance.keys,
            actors["dave"],
            grantee=people.bob,
            owner=people.alice,
            reason="alice on unplanned leave; ticket 4411",
            hours=4,
        )
    audit_events.clear()

    bobs = history_of(appliance, actors["bob"], client_id)

    assert [dict(s.values) for s in bobs.sessions] == [{"phq_9": 9}]
    reads = [e for e in audit_events if e.action == ACTION]
    assert [(e.actor_id, e.reason) for e in reads] == [
        (actors["bob"].user_id, f"emergency_grant:{grant.id}")
    ]

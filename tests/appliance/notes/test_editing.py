"""Edits to the working copy: what each kind of change keeps, and which flags it re-checks."""

from __future__ import annotations

import pytest

from appliance.drafting.draft import RISK, build_draft
from appliance.notes.body import ADDED, NoteBody, body_from_draft
from appliance.notes.checks import RISK_NOT_ASSESSED, open_blocking, risk_placeholder
from appliance.notes.editing import (
    NoteInputError,
    SubmittedFieldValue,
    SubmittedNote,
    SubmittedStatement,
    apply_edit,
)
from tests.appliance.notes.conftest import NO_RISK, TYPED


def _body(text: str = TYPED) -> NoteBody:
    return body_from_draft(build_draft(text, "cbt", "soap"))


def _as_page(body: NoteBody, **changes: str | None) -> list[SubmittedStatement]:
    """The page as the browser sends it, with `changes` (id -> new text; None deletes)."""
    page = []
    for key, statement in body.statements():
        text = changes.get(statement.id, statement.text)
        if text is not None:
            page.append(SubmittedStatement(statement.id, key, text))
    return page


def test_an_edited_statement_keeps_its_citation_and_says_edited() -> None:
    body = _body()
    outcome = apply_edit(body, SubmittedNote(_as_page(body, s1="Client reports sleeping well.")))
    edited = outcome.body.statement("s1")
    assert edited is not None and edited.edited and not edited.detached
    assert edited.provenance == body.statement("s1").provenance  # type: ignore[union-attr]
    assert outcome.changed == {"s1"}


def test_detaching_drops_the_citation_only_when_asked() -> None:
    body = _body()
    page = [
        SubmittedStatement(s.id, s.section, s.text, detach=s.id == "s5") for s in _as_page(body)
    ]
    detached = apply_edit(body, SubmittedNote(page)).body.statement("s5")
    assert detached is not None and detached.detached and detached.provenance == ()
    assert apply_edit(body, SubmittedNote(_as_page(body))).body.statement("s5").provenance  # type: ignore[union-attr]


def test_an_added_statement_is_marked_added_and_gets_a_fresh_id() -> None:
    body = _body()
    page = [*_as_page(body), SubmittedStatement(None, "plan", "Next session in one week.")]
    outcome = apply_edit(body, SubmittedNote(page))
    added = outcome.body.sections["plan"][-1]
    assert (added.id, added.origin, added.provenance) == ("s8", ADDED, ())
    assert outcome.body.next_statement == 9


def test_a_moved_statement_changes_section_and_keeps_its_words() -> None:
    body = _body()
    drafted_in = next(key for key, s in body.statements() if s.id == "s4")
    target = "assessment" if drafted_in != "assessment" else "objective"
    page = [
        SubmittedStatement(s.id, target if s.id == "s4" else s.section, s.text)
        for s in _as_page(body)
    ]
    outcome = apply_edit(body, SubmittedNote(page))
    assert [s.id for s in outcome.body.sections[target]][-1] == "s4"
    assert not outcome.body.statement("s4").edited  # type: ignore[union-attr]
    assert outcome.changed == {"s4"}


def test_a_statement_left_off_the_page_or_emptied_is_deleted_and_its_flags_go() -> None:
    body = _body()
    assert any(f.statement == "s3" for f in body.flags)
    outcome = apply_edit(body, SubmittedNote(_as_page(body, s3=None, s5="  ")))
    assert outcome.deleted == {"s3", "s5"}
    assert body.statement("s3") and outcome.body.statement("s3") is None
    assert not any(f.statement == "s3" for f in outcome.body.flags)


def test_a_statement_id_the_note_does_not_have_is_refused() -> None:
    body = _body()
    with pytest.raises(NoteInputError, match="reload"):
        apply_edit(body, SubmittedNote([*_as_page(body), SubmittedStatement("s99", "plan", "x")]))
    with pytest.raises(NoteInputError, match="section"):
        apply_edit(body, SubmittedNote([SubmittedStatement("s1", "nowhere", "x")]))


def test_fixing_an_out_of_scale_score_clears_its_flag() -> None:
    body = _body()
    assert [f.code for f in open_blocking(body)] == ["implausible_score"]
    fixed = apply_edit(body, SubmittedNote(_as_page(body, s3="PHQ-9 score was 13 today.")))
    # 13 is not in the cited words "PHQ-9 score was 31 today": fixing a misheard value is an
    # edit the clinician vouches for, and the check says so.
    assert [f.code for f in open_blocking(fixed.body)] == ["ungrounded"]
    assert "13" in open_blocking(fixed.body)[0].message


def test_an_edit_that_adds_a_number_not_dictated_is_flagged_ungrounded() -> None:
    body = _body()
    outcome = apply_edit(body, SubmittedNote(_as_page(body, s2="She took sertraline 50 mg.")))
    messages = [f.message for f in outcome.body.flags if f.statement == "s2"]
    assert any("sertraline" in m and "50" in m for m in messages)


def test_an_acknowledged_flag_stays_acknowledged_when_the_same_problem_is_found_again() -> None:
    from dataclasses import replace

    body = _body()
    flag = next(f for f in body.flags if f.code == "implausible_score")
    acked = body.with_flags(
        tuple(
            replace(f, acknowledged_at="2026-11-27T10:00:00") if f == flag else f
            for f in body.flags
        ),
        2,
    )
    moved = [
        SubmittedStatement(s.id, "subjective" if s.id == "s3" else s.section, s.text)
        for s in _as_page(acked)
    ]
    outcome = apply_edit(acked, SubmittedNote(moved))
    again = [f for f in outcome.body.flags if f.statement == "s3"]
    assert [(f.id, f.open) for f in again] == [(flag.id, False)]


def test_emptying_the_risk_section_raises_risk_not_addressed_and_adding_risk_clears_it() -> None:
    body = _body()
    emptied = apply_edit(body, SubmittedNote(_as_page(body, s6=None))).body
    assert [f.code for f in open_blocking(emptied)] == ["implausible_score", "risk_not_addressed"]
    no_risk = _body(NO_RISK)
    assert "risk_not_addressed" in [f.code for f in open_blocking(no_risk)]
    page = [*_as_page(no_risk), SubmittedStatement(None, RISK, "Client denied suicidal ideation.")]
    assessed = apply_edit(no_risk, SubmittedNote(page)).body
    assert "risk_not_addressed" not in [f.code for f in assessed.flags]


def test_an_acknowledged_missing_risk_reads_not_assessed() -> None:
    from dataclasses import replace

    body = _body(NO_RISK)
    flags = tuple(
        replace(f, acknowledged_at="2026-11-27T10:00:00") if f.code == "risk_not_addressed" else f
        for f in body.flags
    )
    assert risk_placeholder(body) != RISK_NOT_ASSESSED
    assert risk_placeholder(body.with_flags(flags, body.next_flag)) == RISK_NOT_ASSESSED


def test_an_unclear_risk_statement_added_by_the_clinician_is_flagged() -> None:
    body = _body(NO_RISK)
    page = [*_as_page(body), SubmittedStatement(None, RISK, "Suicidal ideation was discussed.")]
    codes = [f.code for f in apply_edit(body, SubmittedNote(page)).body.flags]
    assert "risk_polarity_unclear" in codes


def test_reported_risk_is_flagged_for_review_without_blocking_and_rechecked_on_edit() -> None:
    body = _body("Pt c/o poor sleep.\n+SI w/o plan or intent.\nF/u in 2 wks.")
    [risk] = body.sections[RISK]
    assert [(f.code, f.statement) for f in body.flags] == [("risk_reported", risk.id)]
    assert open_blocking(body) == []
    # Corrected to a denial, the flag goes; reported again, it comes back.
    denied = apply_edit(body, SubmittedNote(_as_page(body, **{risk.id: "SI/HI denied."}))).body
    assert denied.flags == ()
    again = apply_edit(denied, SubmittedNote(_as_page(denied, **{risk.id: "Endorses HI."}))).body
    assert [f.code for f in again.flags] == ["risk_reported"]


def test_field_values_can_be_edited_added_and_detached() -> None:
    body = body_from_draft(
        build_draft("We worked on phase 4 desensitization. SUD went from 7 to 2.", "emdr", "birp")
    )
    name = next(n for n, values in body.fields.items() if values)
    first = body.fields[name][0]
    submitted = SubmittedNote(
        _as_page(body),
        {
            name: [
                SubmittedFieldValue(0, first.value + " (checked)", detach=True),
                SubmittedFieldValue(None, "extra value"),
            ]
        },
    )
    outcome = apply_edit(body, submitted)
    edited, added = outcome.body.fields[name]
    assert edited.edited and edited.detached and edited.sentence is None
    assert added.origin == ADDED and outcome.fields_changed

"""Cues place typed shorthand (issue 14): the client's report, history, diagnosis and plan."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from appliance.drafting.custom_formats import SectionSpec, custom_format
from appliance.drafting.draft import build_draft
from appliance.drafting.formats import FORMATS as BUILT_IN
from appliance.drafting.formats import CueText, cue_index


class Refuses:
    """A router that fails the test when asked: the cues alone must place these sentences."""

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        raise AssertionError(f"the model was asked about {sentence!r}")


# (typed line, its section in SOAP, DAP, BIRP, GIRP); None: the format has no such section,
# so the cues leave it to the model. GIRP's Response takes the client's report.
SHORTHAND = [
    ("Pt c/o poor sleep x2 wks.", ("subjective", "data", "behavior", "response")),
    ("pt c/o racing thoughts at night", ("subjective", "data", "behavior", "response")),
    ("Hx of panic attacks in college.", ("subjective", "data", "behavior", "response")),
    ("h/o MDD, first episode at 19", ("subjective", "data", "behavior", "response")),
    ("Dx: MDD, recurrent, moderate.", ("assessment", "assessment", "response", None)),
    ("f/u in 2 wks", ("plan", "plan", "plan", "plan")),
    ("F/u in 2 wks.", ("plan", "plan", "plan", "plan")),
    ("RTC 1 wk.", ("plan", "plan", "plan", "plan")),
    ("HW: thought record daily.", ("plan", "plan", "plan", "plan")),
    ("HW - behavioral activation, walk 3x this wk", ("plan", "plan", "plan", "plan")),
    ("Cont CBT.", ("plan", "plan", "plan", "plan")),
]
FORMATS = ("soap", "dap", "birp", "girp")


@pytest.mark.parametrize(
    ("typed", "note_format", "section"),
    [
        (typed, note_format, section)
        for typed, sections in SHORTHAND
        for note_format, section in zip(FORMATS, sections, strict=True)
        if section is not None
    ],
)
def test_typed_shorthand_is_placed_by_the_cues(typed: str, note_format: str, section: str) -> None:
    draft = build_draft(typed, "cbt", note_format, Refuses())
    placed = [key for key, statement in draft.statements() if statement.text == typed]
    assert placed == [section]


def test_a_word_that_contains_shorthand_is_no_shorthand_cue() -> None:
    # "content" holds "cont", "Hwang" holds "hw": neither is a plan.
    for text in ("Her affect was content.", "Affect flat; spoke of Ms. Hwang."):
        draft = build_draft(text, "cbt", "soap", Refuses())
        assert [s.text for s in draft.sections["objective"]] == [text]


def test_a_custom_template_section_named_plan_takes_typed_plan_shorthand() -> None:
    form = custom_format(
        "custom:brief",
        "Brief",
        [SectionSpec("notes", "Session notes", ""), SectionSpec("plan", "Plan", "")],
    )
    draft = build_draft("RTC 1 wk.", "cbt", form, Refuses())
    assert [s.text for s in draft.sections["plan"]] == ["RTC 1 wk."]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("HW: thought record", 3),  # " hw ", "hw:" and "thought record"
        ("Her affect was content.", 0),  # "cont" only as a word of its own
        ("She took the 2hw bus.", 0),
        ("pt c/o", 1),
        ("(f/u)", 1),
    ],
)
def test_shorthand_cues_match_whole_words_only(text: str, found: int) -> None:
    cues = (" hw ", "hw:", "thought record", " cont ", " c/o ", " f/u ")
    assert CueText.of(text).count(cues) == found


# "We + what we did" is an intervention in every format that has one (issue 14). Written for
# this test: the classifier alone was unsure between the response and the intervention.
@pytest.mark.parametrize("note_format", ["birp", "girp"])
def test_what_we_spent_time_on_is_the_intervention(note_format: str) -> None:
    said = (
        "We spent time on unblending from the critic, which she described as a manager part "
        "that keeps her working until midnight."
    )
    draft = build_draft(said, "ifs", note_format)
    assert [s.text for s in draft.sections["intervention"]] == [said]


# Written for these tests; the cues decide where the classifier is unsure.
@pytest.mark.parametrize(
    ("said", "note_format", "section"),
    [
        # A field's label said as a heading, as "HW:" is.
        ("Committed action: walk the dog each morning with the headphones off.", "girp", "plan"),
        (
            "Revisited her values, which are raising her kids well and making art.",
            "girp",
            "intervention",
        ),
        # Clipped: the client's words after "States", and a rating taken at the session's end.
        ('States "nobody would notice if I left the team."', "soap", "subjective"),
        ("Anxiety four at close.", "birp", "response"),
    ],
)
def test_these_cues_place_what_the_classifier_was_unsure_of(
    said: str, note_format: str, section: str
) -> None:
    draft = build_draft(said, "act", note_format)
    assert [s.text for s in draft.sections[section]] == [said]


def test_weekly_is_no_report_of_the_week_but_the_weekend_is() -> None:
    # "Continue weekly" is when the next sessions are; "week" inside "weekly" made it the
    # client's report as much as the plan.
    soap = cue_index(BUILT_IN["soap"])
    assert soap.scores("Continue weekly, same time.")["subjective"] == 0
    assert soap.scores("Over the weekend she slept badly.")["subjective"] >= 1
    assert soap.scores("She had a hard week.")["subjective"] >= 1


def test_the_session_end_cues_are_whole_words() -> None:
    birp = cue_index(BUILT_IN["birp"])
    assert birp.scores("SUD 2 by close.")["response"] == 1
    assert birp.scores("To that end we met twice.")["response"] == 0
    assert birp.scores("She is close to her sister at end-of-year parties.")["response"] == 0


def test_what_a_session_focused_on_is_the_intervention() -> None:
    scores = cue_index(BUILT_IN["birp"]).scores("Session focused on her morning walks.")
    assert scores["intervention"] >= 1

"""Section headings said or typed in a dictation (appliance.drafting.headings)."""

from __future__ import annotations

import pytest

from appliance.drafting.custom_formats import SectionSpec, custom_format
from appliance.drafting.draft import RISK, Draft, build_draft
from appliance.drafting.formats import FORMATS
from appliance.drafting.headings import opens_a_heading, spoken_heading


@pytest.mark.parametrize(
    ("text", "note_format", "section"),
    [
        ("Subjective.", "soap", "subjective"),
        ("Um, objective.", "soap", "objective"),
        ("Okay, plan: homework is the first two rungs of the hierarchy.", "soap", "plan"),
        (
            "Assessment, I should have said this before the plan, panic is improving.",
            "soap",
            "assessment",
        ),
        ("For the intervention, we went looking for the part.", "birp", "intervention"),
        ("Intervention, this was a fifty-minute session.", "girp", "intervention"),
        ("Goal first.", "girp", "goals"),
        ("Behaviour: restless, tearful at times.", "birp", "behavior"),
        ("Interventions: chain analysis of Saturday.", "birp", "intervention"),
        ("A: improving, avoidance maintains it.", "soap", "assessment"),
        ("S: pt reports 2 panic attacks.", "soap", "subjective"),
        ("D: reviewed the diary card.", "dap", "data"),
        ("Moving on to the response.", "birp", "response"),
    ],
)
def test_a_section_named_at_a_sentences_start_is_its_heading(
    text: str, note_format: str, section: str
) -> None:
    assert spoken_heading(text, FORMATS[note_format]) == section


@pytest.mark.parametrize(
    ("text", "note_format"),
    [
        # The title is a word of the sentence, not a heading before it.
        ("Plan is to continue weekly.", "soap"),
        ("Response to the exposure was strong.", "birp"),
        ("Data from the diary card show fewer urges.", "dap"),
        ("Assessment of risk was completed.", "dap"),
        # Not a section of this note.
        ("Response. He was irritated at first.", "soap"),
        ("Subjective. She reports poor sleep.", "birp"),
        # A letter is a heading only typed with its colon, and only where it is one section's.
        ("A quiet session overall.", "soap"),
        ("P. continued weekly", "soap"),
        # A treatment plan's objective is a goal, not SOAP's Objective.
        ("Objective: client will identify two automatic thoughts a day.", "soap"),
        ("Objective: complete the diary card at least six days a week.", "soap"),
        ("The plan, as before, is weekly sessions.", "soap"),
        # EMDR's assessment phase sets up the target; it is not the clinician's assessment.
        ("Assessment: target is the car crash, NC 'I'm going to die', SUD 8.", "soap"),
        ("Assessment, then desensitization with eye movements.", "dap"),
    ],
)
def test_a_title_that_is_not_a_heading_names_no_section(text: str, note_format: str) -> None:
    assert spoken_heading(text, FORMATS[note_format]) is None


def test_a_custom_templates_own_titles_are_its_headings() -> None:
    form = custom_format(
        "intake-lite",
        "Intake lite",
        [
            SectionSpec("presenting", "Presenting problem", ""),
            SectionSpec("mse", "Mental status", ""),
        ],
    )
    assert spoken_heading("Presenting problem: panic on the train.", form) == "presenting"
    assert spoken_heading("Mental status, alert and oriented.", form) == "mse"
    # Both titles start with a different letter, so each letter with its colon is a heading.
    assert spoken_heading("M: alert and oriented.", form) == "mse"


def _gaps(text: str) -> list[int]:
    words = text.split()
    return [gap for gap in range(len(words) - 1) if opens_a_heading(words, gap)]


def test_a_section_named_inside_a_run_on_opens_a_statement() -> None:
    run_on = (
        "he still avoids the express line, objective, he was on time and well groomed, okay, "
        "plan, homework is the first two rungs, for the intervention, we built a hierarchy"
    )
    words = run_on.split()
    assert [words[gap + 1] for gap in _gaps(run_on)] == ["objective,", "okay,", "for"]


def test_a_title_in_a_list_or_without_its_own_mark_opens_nothing() -> None:
    assert _gaps("we noted her affect, response, and engagement in the exercise") == []
    assert _gaps("we reviewed the plan, plan for next week is exposure") == []
    assert _gaps("she stuck to the plan for the whole week, response was good") == []


def _placed(draft: Draft) -> dict[str, str]:
    return {s.text: key for key, statements in draft.sections.items() for s in statements}


def test_a_heading_sends_its_own_sentence_to_the_section_it_names() -> None:
    text = (
        "Subjective. Daniel reports two panic attacks this week, both on the train. Objective. "
        "He was on time and well groomed. Assessment, I should have said this before, panic "
        "disorder is improving."
    )
    placed = _placed(build_draft(text, "cbt", "soap"))
    assert placed["Subjective."] == "subjective"
    assert placed["Objective."] == "objective"
    assert (
        placed["Assessment, I should have said this before, panic disorder is improving."]
        == "assessment"
    )


def test_a_sentence_nothing_else_places_stays_under_the_heading_said_before_it() -> None:
    text = (
        "Assessment. Panic disorder is improving. His should statements about never being "
        "anxious at work came up again and are worth targeting."
    )
    placed = _placed(build_draft(text, "cbt", "soap"))
    assert (
        placed[
            "His should statements about never being anxious at work came up again and are worth "
            "targeting."
        ]
        == "assessment"
    )


def test_under_a_heading_risk_and_a_clear_plan_still_go_where_they_belong() -> None:
    text = (
        "Assessment. Panic disorder is improving. She denies suicidal ideation. Next session is "
        "Thursday at 10 AM."
    )
    placed = _placed(build_draft(text, "cbt", "soap"))
    assert placed["She denies suicidal ideation."] == RISK
    assert placed["Next session is Thursday at 10 AM."] == "plan"


def test_a_heading_whisper_heard_inside_a_run_on_starts_a_statement_of_its_section() -> None:
    # As Whisper wrote a Piper voice that said "Response." between two sentences.
    text = (
        "we explored the theme of leaving before he can be left, which goes back to his "
        "mother's hospital stays, response, he was irritated at first and said I was reading "
        "too much into it, then went quiet."
    )
    draft = build_draft(text, "psychodynamic", "girp")
    assert [s.text for s in draft.sections["response"]] == [
        "response, he was irritated at first and said I was reading too much into it, then "
        "went quiet."
    ]


def test_a_goal_heading_holds_its_own_sentence_not_the_sessions_work_after_it() -> None:
    text = (
        "Goal: get back to running the trail despite fear of falling. Individual psychotherapy, "
        "session four. Acceptance practice with ankle sensations. Present moment, three-minute "
        "breath anchor."
    )
    placed = _placed(build_draft(text, "act", "girp"))
    assert placed["Goal: get back to running the trail despite fear of falling."] == "goals"
    assert placed["Present moment, three-minute breath anchor."] == "intervention"


def test_a_goals_heading_said_alone_holds_the_sentence_after_it() -> None:
    text = "Goals. Reduce panic avoidance so he can ride the train. Session by video, session 11."
    placed = _placed(build_draft(text, "cbt", "girp"))
    assert placed["Reduce panic avoidance so he can ride the train."] == "goals"
    assert placed["Session by video, session 11."] == "intervention"

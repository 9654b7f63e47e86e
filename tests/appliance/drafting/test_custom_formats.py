"""Drafting with an admin's custom template: derived cues, custom sections, titles in the JSON."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from appliance.drafting.custom_formats import SectionSpec, cues_for, custom_format
from appliance.drafting.draft import RISK, build_draft
from appliance.drafting.formats import BIRP, CONCEPT_CUES, GIRP, SOAP

TEXT = (
    "Client reported poor sleep since last session. "
    "We practiced paced breathing. "
    "Her sister moved back in with the family. "
    "Homework is a daily breathing log."
)


class NoAnswer:
    """A model that never answers; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        self.asked.append(sentence)
        return None


def _template() -> tuple[SectionSpec, ...]:
    return (
        SectionSpec("check_in", "Check-in", "What the client reported about the week."),
        SectionSpec("interventions", "Interventions", "What the clinician did."),
        SectionSpec("family_context", "Family context", "Changes at home."),
        SectionSpec("homework", "Homework", "What the client will practise."),
    )


@pytest.mark.parametrize(
    ("title", "concept_cues"),
    [
        ("Interventions", BIRP.section("intervention").cues),
        ("Intervention", BIRP.section("intervention").cues),
        ("Subjective", SOAP.section("subjective").cues),
        ("Homework", CONCEPT_CUES["plan"]),
        ("Plan for next session", CONCEPT_CUES["plan"]),
        ("Treatment goals", GIRP.section("goals").cues),
        ("Client response", CONCEPT_CUES["response"]),
        ("Behaviour", BIRP.section("behavior").cues),
    ],
)
def test_a_section_named_like_a_builtin_reuses_its_cues(
    title: str, concept_cues: tuple[str, ...]
) -> None:
    assert cues_for(title) == concept_cues


def test_other_sections_are_cued_by_their_own_title_words() -> None:
    assert cues_for("Family context") == ("family", "context")
    # Joining words and words of nearly every sentence ("client", "session") are no cues.
    assert cues_for("Medication and the client's sleep") == ("medication", "sleep")


def test_a_custom_template_drafts_into_its_own_sections_and_risk() -> None:
    form = custom_format("custom:" + "a" * 32, "Weekly check-in", _template())
    model = NoAnswer()
    draft = build_draft(TEXT, "integrative", form, model)
    assert list(draft.sections) == ["check_in", "interventions", "family_context", "homework", RISK]
    placed = {k: [s.text for s in v] for k, v in draft.sections.items()}
    # "Check-in" names no built-in concept and its words are not in the sentence: only this
    # one went to the model (which did not answer), so it sits in the first section, flagged.
    assert model.asked == ["Client reported poor sleep since last session."]
    assert placed["check_in"] == model.asked
    assert [f.code for f in draft.flags] == ["unplaced", "risk_not_addressed"]
    assert placed["interventions"] == ["We practiced paced breathing."]
    assert placed["family_context"] == ["Her sister moved back in with the family."]
    assert placed["homework"] == ["Homework is a daily breathing log."]
    assert draft.note_format == "custom:" + "a" * 32
    assert draft.section_titles == {
        "check_in": "Check-in",
        "interventions": "Interventions",
        "family_context": "Family context",
        "homework": "Homework",
        RISK: "Risk",
    }


def test_the_guidance_is_what_the_model_is_shown() -> None:
    asked: list[Sequence[tuple[str, str]]] = []

    class Records:
        def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
            asked.append(sections)
            return "check_in"

    form = custom_format("custom:x", "Weekly", _template())
    draft = build_draft("Client reported poor sleep since last session.", "cbt", form, Records())
    assert asked and dict(asked[0])["check_in"] == "What the client reported about the week."
    assert [s.routed_by for s in draft.sections["check_in"]] == ["model"]


def test_a_section_without_guidance_shows_the_model_its_title() -> None:
    form = custom_format("custom:x", "Brief", (SectionSpec("notes_x", "Notes X", ""),))
    assert form.sections[0].guidance == "Notes X"


def test_the_draft_json_keeps_its_keys_and_adds_section_titles() -> None:
    document = build_draft(TEXT, "cbt", "soap").as_json()
    assert list(document) == [
        "transcript",
        "modality",
        "format",
        "sections",
        "section_titles",
        "placeholders",
        "fields",
        "flags",
        "timings",
        "rewrite",
    ]
    assert document["format"] == "soap"
    assert document["section_titles"] == {
        "subjective": "Subjective",
        "objective": "Objective",
        "assessment": "Assessment",
        "plan": "Plan",
        RISK: "Risk",
    }


def test_a_format_with_its_own_risk_section_is_refused() -> None:
    form = custom_format("custom:x", "Bad", (SectionSpec(RISK, "Risk", ""),))
    with pytest.raises(ValueError, match="risk is added"):
        build_draft(TEXT, "cbt", form)

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from appliance.drafting import boundaries
from appliance.drafting.boundaries import spoken_statements
from appliance.drafting.draft import RISK, Statement, build_draft
from appliance.drafting.grounding import ungrounded
from appliance.drafting.risk import NOT_ADDRESSED
from appliance.drafting.segment import split_sentences
from tests.appliance.drafting.readers import Undecided

DICTATIONS = Path(__file__).resolve().parents[2] / "fixtures" / "dictations"


def _scripts() -> list[tuple[str, str, str]]:
    manifest = json.loads((DICTATIONS / "manifest.json").read_text())["dictations"]
    return [(d["id"], d["modality"], (DICTATIONS / d["script"]).read_text()) for d in manifest]


@pytest.mark.parametrize("note_format", ["soap", "dap", "birp", "girp"])
@pytest.mark.parametrize(("dictation_id", "modality", "text"), _scripts())
def test_every_sentence_lands_in_exactly_one_section_with_its_span(
    dictation_id: str, modality: str, text: str, note_format: str
) -> None:
    draft = build_draft(text, modality.lower().replace("-", ""), note_format)
    statements = [s for section in draft.sections.values() for s in section]
    assert sorted(s.text for s in statements) == sorted(x.text for x in split_sentences(text))
    for statement in statements:
        assert statement.provenance, "a statement without provenance"
        for span in statement.provenance:
            assert text[span.start : span.end] == span.text == statement.text
    assert not [f for f in draft.flags if f.code == "ungrounded"]


def test_a_dictation_without_risk_says_so_and_is_flagged() -> None:
    draft = build_draft(
        "Client reported better sleep. We reviewed the thought record.", "cbt", "soap"
    )
    assert draft.sections[RISK] == []
    assert draft.placeholders[RISK] == NOT_ADDRESSED
    assert [f.code for f in draft.flags] == ["risk_not_addressed"]
    assert "denies" not in json.dumps(draft.as_json()).lower()


def test_risk_statements_go_to_the_risk_section_verbatim() -> None:
    text = "Mood was low. She denied suicidal ideation and we reviewed her safety plan."
    draft = build_draft(text, "integrative", "dap")
    assert [s.text for s in draft.sections[RISK]] == [
        "She denied suicidal ideation and we reviewed her safety plan."
    ]
    assert RISK not in draft.placeholders


def test_the_rest_of_a_risk_sentence_cut_at_its_comma_stays_with_its_risk() -> None:
    # The boundary model cuts this sentence at its comma; the second piece names no risk of its
    # own, and was filed under Goals as a statement of its own.
    risk = "No suicidal or homicidal thoughts, she denied both when I asked directly."
    text = f"The goal is fewer panic attacks. {risk} We'll meet again next Tuesday."
    draft = build_draft(text, "cbt", "girp")
    assert [s.text for s in draft.sections[RISK]] == [risk]
    assert draft.flags == []


def test_cues_place_clear_sentences_without_the_model() -> None:
    class Refuses:
        def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
            raise AssertionError("the model was asked about a sentence the cues decide")

    draft = build_draft(
        "For homework she will complete two thought records.", "cbt", "soap", Refuses()
    )
    assert [s.text for s in draft.sections["plan"]] == [
        "For homework she will complete two thought records."
    ]


def test_the_model_decides_only_among_offered_sections() -> None:
    asked: list[list[str]] = []

    class PicksTheLast:
        def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
            asked.append([key for key, _ in sections])
            return sections[-1][0]

    # Neither the cues nor the classifier are sure where the weather goes: the model is asked,
    # once, among some of the format's sections, and its pick is where the sentence goes.
    draft = build_draft(
        "The weather was grey.", "integrative", "soap", PicksTheLast(), concepts=Undecided()
    )
    (offered,) = asked
    assert len(offered) >= 2
    assert set(offered) <= {"subjective", "objective", "assessment", "plan"}
    statement = draft.sections[offered[-1]][0]
    assert statement.routed_by == "model"


def test_an_unusable_model_answer_is_placed_by_default_and_flagged() -> None:
    class Invents:
        def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
            return "diagnosis"  # not a section of this format

    draft = build_draft(
        "The weather was grey.", "integrative", "birp", Invents(), concepts=Undecided()
    )
    ((key, statement),) = list(draft.statements())
    assert statement.routed_by == "default"
    assert key != "diagnosis"
    assert [(f.code, f.statement) for f in draft.flags if f.code == "unplaced"] == [
        ("unplaced", statement.id)
    ]


def test_grounding_catches_numbers_medications_and_diagnoses_not_in_the_source() -> None:
    source = "She takes sertraline 50 milligrams and her PHQ-9 was 14."
    assert ungrounded("She takes sertraline 50 mg; PHQ-9 was 14.", source) == []
    assert ungrounded("She takes sertraline 100 mg; PHQ-9 was 14.", source) == ["100"]
    assert ungrounded("She takes fluoxetine 50 mg.", source) == ["fluoxetine"]
    assert ungrounded("Consistent with major depressive disorder.", source) == [
        "major depressive disorder"
    ]


def test_emdr_fields_come_from_what_was_said() -> None:
    text = (
        "We were in phase 4 and targeted the car accident. "
        "SUD went from 7 to 2 and VOC rose from 3 to 6."
    )
    fields = build_draft(text, "emdr", "soap").fields
    assert [(f.value, f.sentence) for f in fields["sud_start"]] == [("7", 1)]
    assert [(f.value, f.sentence) for f in fields["sud_end"]] == [("2", 1)]
    assert [(f.value, f.sentence) for f in fields["voc_start"]] == [("3", 1)]
    assert [(f.value, f.sentence) for f in fields["voc_end"]] == [("6", 1)]
    assert fields["negative_cognition"] == [] and fields["positive_cognition"] == []


def test_fields_not_mentioned_stay_empty() -> None:
    fields = build_draft("Client reported a calm week.", "dbt", "dap").fields
    assert all(values == [] for values in fields.values())


def test_the_json_has_the_documented_top_level_keys() -> None:
    document = build_draft("Client reported a calm week.", "act", "girp").as_json()
    assert {"transcript", "sections", "fields", "flags", "timings"} <= set(document)
    assert all(s["provenance"] for v in document["sections"].values() for s in v)


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Her PHQ-9 was 117 today.", ["PHQ-9 117"]),
        ("GAD-7 of 25 and PHQ-9 of 14.", ["GAD-7 25"]),
        ("SUD went from 7 to 2 and the VOC was 9.", ["VOC 9"]),
        ("PHQ-9 was 14, GAD-7 was 11, SUD 3, VOC 6.", []),
    ],
)
def test_scores_outside_their_scale_are_flagged_as_probably_misheard(
    text: str, flagged: list[str]
) -> None:
    from appliance.drafting.grounding import implausible_scores

    assert implausible_scores(text) == flagged
    codes = [f.code for f in build_draft(text, "integrative", "soap").flags]
    assert codes.count("implausible_score") == len(flagged)


@pytest.mark.parametrize(
    "heard",
    [
        "The client dies suicidal ideation and feels safe at home.",  # "denies", misheard
        "The client reported a PHQ-9 of 14, and the high suicidal ideation.",
        "The client rated an ideation 5 out of 10.",  # "anxiety", misheard
        "The client reports hopeless thoughts, but the eye suicidal ideation.",
        "She reported thoughts of suicide, with no plan, and the eyes homicidal ideation.",
    ],
)
def test_a_risk_statement_that_neither_denies_nor_reports_is_flagged(heard: str) -> None:
    draft = build_draft(f"Mood was low. {heard}", "cbt", "soap")
    assert [s.text for s in draft.sections["risk"]] == [heard]
    flags = [f for f in draft.flags if f.code == "risk_polarity_unclear"]
    assert len(flags) == 1 and flags[0].section == "risk" and "denies" in flags[0].message


@pytest.mark.parametrize(
    "said",
    [
        "She denies SI and HI.",
        "The client reports passive SI without plan or intent.",
        "Denies SI, HI, self-harm.",
        "She doesn't report self-harm.",
        "Suicidal ideation: none.",
        "The diary card showed urges to self-harm on three days.",
        "The client reports hopeless thoughts but denies current suicidal ideation.",
    ],
)
def test_a_risk_statement_with_a_clear_denial_or_report_is_not_flagged(said: str) -> None:
    draft = build_draft(said, "cbt", "soap")
    assert draft.sections["risk"] and not any(
        f.code == "risk_polarity_unclear" for f in draft.flags
    )


# Whisper's way with a natural voice: one sentence, comma-joined (appliance.drafting.boundaries).
RUN_ON = (
    "Individual therapy session 4, seen on Friday, the client reported that panic attacks "
    "happened twice this week, the GAD-7 was 13, we practised paced breathing and reviewed the "
    "panic cycle, the client was able to slow her breathing within two minutes, homework is to "
    "log each attack. The client denies suicidal ideation."
)


def _statement_starting(draft_sections: dict[str, list[Statement]], opening: str) -> str:
    for key, statements in draft_sections.items():
        if any(s.text.startswith(opening) for s in statements):
            return key
    raise AssertionError(f"no statement starts with {opening!r}")


def test_the_spoken_sentences_of_a_run_on_go_to_their_own_sections() -> None:
    draft = build_draft(RUN_ON, "cbt", "birp")
    sections = draft.sections
    assert _statement_starting(sections, "we practised") == "intervention"
    assert _statement_starting(sections, "the client was able") == "response"
    assert _statement_starting(sections, "homework is") == "plan"
    for statements in sections.values():
        for statement in statements:
            (span,) = statement.provenance
            assert RUN_ON[span.start : span.end] == span.text == statement.text


def test_pieces_of_one_sentence_that_land_in_one_section_read_as_one_statement() -> None:
    # Without its commas, so that the learned model alone finds where sentences end.
    bare = RUN_ON.replace(",", "")
    pieces = spoken_statements(split_sentences(bare))
    report = [p.text for p in pieces if p.text.startswith(("the client reported", "the GAD-7"))]
    assert len(report) == 2  # the model cut between them ...
    draft = build_draft(bare, "cbt", "birp")
    joined = [s for s in draft.sections["behavior"] if s.text.startswith("the client reported")]
    assert [s.text for s in joined] == [" ".join(report)]  # ... and the draft joined them again
    (span,) = joined[0].provenance
    assert bare[span.start : span.end] == joined[0].text


class _CutsAfter:
    """A boundary model that cuts each sentence after one given word, and nowhere else."""

    def __init__(self, word: str) -> None:
        self.word = word

    def probabilities(self, words: Sequence[str]) -> list[float]:
        return [0.0] * max(0, len(words) - 1)  # unused by pieces below

    def pieces(
        self,
        sentence: str,
        threshold: float = 0.5,
        min_words: int = 20,
        chances: Sequence[float] | None = None,
    ) -> list[tuple[int, int]]:
        at = sentence.find(self.word)
        if at == -1:
            return [(0, len(sentence))]
        end = at + len(self.word)
        return [(0, end), (end + 1, len(sentence))]


def test_fields_are_read_from_the_sentence_as_filed_not_from_its_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = (
        "We did a chain analysis of Thursday night, and the links were an argument with her "
        "boss, the thought that nobody respects her, anger, and skipping dinner."
    )
    monkeypatch.setattr(boundaries, "_shared", _CutsAfter("her boss,"))
    assert len(spoken_statements(split_sentences(said))) == 2  # cut in two ...
    draft = build_draft(said, "dbt", "birp")
    assert [s.text for s in draft.sections["intervention"]] == [said]  # ... filed as one
    (chain,) = draft.fields["chain_analysis"]
    assert chain.value == (
        "Thursday night, and the links were an argument with her boss, the thought that nobody "
        "respects her, anger, and skipping dinner"
    )


class LeansToPlan:
    """A concept classifier unsure of everything, its likeliest concept the plan, but with
    DAP's Data holding more of the chances between its concepts."""

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        spread = {"plan": 0.38, "report": 0.2, "observation": 0.15, "response": 0.15}
        return [spread | {"assessment": 0.12} for _ in texts]


def test_an_unsure_sentence_goes_to_its_likeliest_concepts_section_not_the_broadest() -> None:
    draft = build_draft("The weather was grey.", "integrative", "dap", concepts=LeansToPlan())
    assert [s.text for s in draft.sections["plan"]] == ["The weather was grey."]
    assert draft.sections["data"] == []


def test_a_clipped_rating_at_the_end_is_the_response_and_at_the_start_the_baseline() -> None:
    said = (
        "Mood five out of ten at start. Explored the argument with her sister. "
        "Mood six of ten at close. SUD 2 by end."
    )
    draft = build_draft(said, "integrative", "birp")
    filed = {s.text: section for section, s in draft.statements()}
    assert filed["Mood five out of ten at start."] == "behavior"
    assert filed["Mood six of ten at close."] == "response"
    assert filed["SUD 2 by end."] == "response"


def test_a_short_sentence_with_the_rating_taken_coming_in_is_the_baseline() -> None:
    said = (
        "He came in tense and said his anxiety going in was a seven. We worked with the "
        "protector. Anxiety three at close."
    )
    draft = build_draft(said, "ifs", "birp")
    filed = {s.text: section for section, s in draft.statements()}
    assert filed["He came in tense and said his anxiety going in was a seven."] == "behavior"
    assert filed["Anxiety three at close."] == "response"

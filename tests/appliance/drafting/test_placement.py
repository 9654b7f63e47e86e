"""The learned placement: concepts, their homes in each format, and how the draft uses them."""

from __future__ import annotations

import json

import pytest

from appliance.drafting.custom_formats import SectionSpec, custom_format
from appliance.drafting.draft import HEADER_TITLE, build_draft
from appliance.drafting.formats import FORMATS
from appliance.drafting.placement import (
    CONCEPTS,
    HEADER,
    ConceptClassifier,
    LabelledSentence,
    load_corpus,
    opening_words,
    section_probabilities,
    shared_classifier,
)


def test_every_builtin_format_gives_every_concept_but_risk_and_header_a_home() -> None:
    for note_format in FORMATS.values():
        homes = note_format.concept_homes()
        assert set(homes) == set(CONCEPTS) - {"risk", HEADER}, note_format.key
        assert set(homes.values()) == {s.key for s in note_format.sections}, note_format.key


def test_soap_puts_what_was_done_in_session_in_objective_and_only_what_comes_next_in_plan() -> None:
    homes = FORMATS["soap"].concept_homes()
    assert homes["intervention"] == "objective"
    assert homes["plan"] == "plan"


def test_a_custom_template_gets_the_concepts_its_titles_name() -> None:
    template = custom_format(
        "clinic",
        "Clinic note",
        [
            SectionSpec("presenting", "Presenting concerns", ""),
            SectionSpec("interventions", "Interventions", ""),
            SectionSpec("homework", "Homework", ""),
            SectionSpec("other", "Billing remarks", ""),
        ],
    )
    homes = template.concept_homes()
    assert homes["intervention"] == "interventions"
    assert homes["plan"] == "homework"
    assert "other" not in homes.values()


def test_a_sections_probability_is_the_sum_of_its_concepts() -> None:
    homes = {"report": "data", "observation": "data", "plan": "plan"}
    got = section_probabilities(
        {"report": 0.3, "observation": 0.3, "plan": 0.2, "risk": 0.2}, homes
    )
    assert got == pytest.approx({"data": 0.6, "plan": 0.2})


def test_a_sentence_whose_likeliest_concept_has_no_home_gets_no_learned_section() -> None:
    # A template without a section for the client's report: the report must not be pushed
    # into the plan because the plan is the only home left.
    homes = {"plan": "homework"}
    assert section_probabilities({"report": 0.7, "plan": 0.3}, homes) == {}
    assert section_probabilities({}, homes) == {}


def test_a_classifier_trained_on_a_corpus_reads_new_sentences_of_its_kinds() -> None:
    corpus = [
        LabelledSentence(text, concept, "cbt")
        for concept, texts in {
            "plan": ["next session in two weeks", "homework is a thought record", "f/u in 1 wk"],
            "intervention": ["we practiced breathing", "I taught grounding", "we reviewed skills"],
            "report": ["she reports poor sleep", "client says work is hard", "pt c/o headaches"],
        }.items()
        for text in texts
    ]
    classifier = ConceptClassifier(corpus)
    (plan,), (done,) = (
        classifier.probabilities(["homework: thought record, next session in a week"]),
        classifier.probabilities(["we practiced grounding"]),
    )
    assert max(plan, key=plan.__getitem__) == "plan"
    assert max(done, key=done.__getitem__) == "intervention"
    assert sum(plan.values()) == pytest.approx(1.0)


def test_a_corpus_with_an_unknown_concept_is_refused() -> None:
    document = {"sentences": [{"text": "hello", "concept": "gossip"}]}
    with pytest.raises(ValueError, match="gossip"):
        load_corpus(json.dumps(document))


def test_the_shipped_classifier_is_trained_once_per_process() -> None:
    assert shared_classifier() is shared_classifier()


def test_a_dictations_preamble_becomes_the_notes_header_cited_and_first() -> None:
    transcript = (
        "EMDR session note for client J.M. "
        "The client reported two nightmares this week. "
        "We continued desensitization of the car accident memory. "
        "Next session in one week."
    )
    draft = build_draft(transcript, "emdr", "birp")
    assert next(iter(draft.sections)) == HEADER
    (header,) = draft.sections[HEADER]
    assert header.text == "EMDR session note for client J.M."
    assert header.provenance[0].text == header.text
    assert draft.section_titles[HEADER] == HEADER_TITLE
    assert all(header.text != s.text for key, s in draft.statements() if key != HEADER)


@pytest.mark.parametrize(
    ("opening", "modality"),
    [
        # A session line that names the client is the header, as the development set labels
        # "DAP note for client R.T., 50 minutes."; written here for this test.
        ("DBT individual session, client H.B., 55 minutes, 90837.", "dbt"),
        ("Couples session, 90847, partners L.O. and M.O., fifty minutes.", "integrative"),
        ("IFS session, client P.S., 45 minutes.", "ifs"),
    ],
)
def test_a_session_line_that_names_the_client_is_the_notes_header(
    opening: str, modality: str
) -> None:
    transcript = (
        f"{opening} She reported two hard days at work this week. Next session in one week."
    )
    draft = build_draft(transcript, modality, "birp")
    assert [s.text for s in draft.sections.get(HEADER, [])] == [opening]


def test_a_sentences_opening_words_are_features_of_their_own() -> None:
    assert opening_words("Continue weekly, next appt Monday.") == "open_continue open_weekly"
    assert opening_words("f/u in 2 wks") == "open_f/u open_in"
    assert opening_words("") == ""


def test_fillers_before_a_sentences_first_word_are_not_its_opening() -> None:
    assert opening_words("Okay so, um, Sofia today, this was phase three") == (
        "open_sofia open_today"
    )
    assert opening_words("Uh, and I want to bring in defusion next time") == "open_i open_want"
    assert opening_words("um uh") == ""
    assert opening_words("ER visit on Tuesday night") == "open_er open_visit"


def test_a_dictation_without_a_preamble_has_no_header_section() -> None:
    draft = build_draft("The client reported two nightmares this week.", "emdr", "birp")
    assert HEADER not in draft.sections
    assert HEADER not in draft.section_titles


def test_an_intervention_lands_in_intervention_in_every_format_that_has_one() -> None:
    sentence = "We continued desensitization of the target memory with eye movements."
    for key in ("birp", "girp"):
        draft = build_draft(sentence, "emdr", key)
        assert [s.text for s in draft.sections["intervention"]] == [sentence], key

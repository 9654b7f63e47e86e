"""Suggested corrections of misheard terms: the mishearings are found, everyday English is not
"corrected", and applying one replaces exactly its characters."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.drafting.suggestions import (
    LOOKS_ALIKE,
    SOUNDS_ALIKE,
    SPELLING,
    Suggestion,
    apply_suggestion,
    suggest,
)
from appliance.drafting.vocabulary import BY_MODALITY

ROOT = Path(__file__).resolve().parents[3]


def _pairs(text: str, modality: str) -> list[tuple[str, str]]:
    return [(s.heard, s.term) for s in suggest(text, modality)]


@pytest.mark.parametrize(
    ("text", "modality", "heard", "term", "reason"),
    [
        ("We did 18 sets of bilateral I movements.", "emdr", "bilateral I movements",
         "bilateral eye movements", SOUNDS_ALIKE),
        ("The emDR target was the accident.", "emdr", "emDR", "EMDR", SPELLING),
        ("Back to E M D R phase 4.", "emdr", "E M D R", "EMDR", SPELLING),
        ("The client takes certraline 100 milligrams.", "psychodynamic", "certraline",
         "sertraline", LOOKS_ALIKE),
        ("The client takes a propion 300 milligrams.", "psychodynamic", "a propion",
         "bupropion", SOUNDS_ALIKE),
        ("We will practice DRMAN with the partner.", "dbt", "DRMAN", "DEAR MAN", SOUNDS_ALIKE),
        ("We practiced cognitive diffusion.", "act", "cognitive diffusion",
         "cognitive defusion", SOUNDS_ALIKE),
        ("The phq 9 was 14.", "cbt", "phq 9", "PHQ-9", SPELLING),
        ("We named all or nothing thinking.", "cbt", "all or nothing thinking",
         "all-or-nothing thinking", SPELLING),
        ("Takes flu oxetine daily.", "cbt", "flu oxetine", "fluoxetine", SPELLING),
    ],
)  # fmt: skip
def test_it_suggests_the_term_for_exactly_the_misheard_words(
    text: str, modality: str, heard: str, term: str, reason: str
) -> None:
    suggestions = suggest(text, modality)
    assert [(s.heard, s.term, s.reason) for s in suggestions] == [(heard, term, reason)]
    assert text[suggestions[0].start : suggestions[0].end] == heard


@pytest.mark.parametrize(
    ("text", "modality"),
    [
        ("I think I made good eye contact.", "emdr"),
        ("The client felt sad and the SUD was 3.", "emdr"),  # "sad" is not "SUD"
        ("She values honesty and named her values.", "act"),  # another form of "values"
        ("We act on what matters.", "act"),
        ("Anger at the manager, then a protector part.", "ifs"),  # "anger" is not "manager"
        ("It protects a younger part.", "ifs"),  # "protect a" is not "protector"
        ("The German doorman was kind.", "dbt"),  # not "DEAR MAN"
        ("Oh dear, man, what a week.", "dbt"),  # punctuation between the words
        ("Dear man, she wrote.", "cbt"),  # DEAR MAN is not a CBT term
        ("The bar association and her man.", "psychodynamic"),
        ("We used cognitive distraction.", "cbt"),
        ("Resistant at first, then acceptable.", "psychodynamic"),
        ("She took a tip from her friend.", "dbt"),
        ("A field value's sentence, sud_end.", "emdr"),
        ("A value's worth and the client's values.", "act"),
        ("The client takes sertraline and escitalopram.", "cbt"),
        ("Transference and countertransference were named.", "psychodynamic"),
    ],
)
def test_everyday_english_is_never_suggested_a_term(text: str, modality: str) -> None:
    assert _pairs(text, modality) == []


def test_the_same_letters_in_the_vocabularys_case_are_no_suggestion() -> None:
    assert suggest("EMDR with bilateral stimulation; the SUD was 3 and the VOC 5.", "emdr") == []


def test_a_lower_case_term_keeps_a_sentences_capital() -> None:
    assert _pairs("Psycho education on sleep.", "cbt") == [("Psycho education", "Psychoeducation")]
    # and its case alone is no suggestion: "Sertraline" begins a sentence
    assert suggest("Sertraline 50 mg.", "cbt") == []


def test_terms_are_those_of_the_dictations_modality() -> None:
    assert _pairs("We did bilateral I movements.", "cbt") == []
    assert _pairs("dear man", "emdr") == []


@pytest.mark.parametrize("modality", sorted(BY_MODALITY))
def test_the_documentation_reads_as_written_in_every_modality(modality: str) -> None:
    # English prose about the appliance (and its clinical words) gets nothing but the spelling
    # of terms written in code style ("sud_end" excepted, "`emdr`" not).
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        reasons = {s.reason for s in suggest(path.read_text(encoding="utf-8"), modality)}
        assert reasons <= {SPELLING}, path.name


def test_applying_a_suggestion_replaces_exactly_its_words() -> None:
    text = "Sets of bilateral I movements; I felt calm."
    (suggestion,) = suggest(text, "emdr")
    assert apply_suggestion(text, suggestion) == "Sets of bilateral eye movements; I felt calm."


def test_a_suggestion_refuses_text_that_changed() -> None:
    stale = Suggestion(0, 4, "emdr", "EMDR", SPELLING)
    with pytest.raises(ValueError, match="changed"):
        apply_suggestion("EMDR session", stale)


def test_suggestions_never_overlap_and_come_in_reading_order() -> None:
    text = "emdr with bilateral I movements, then the client takes certraline, phq 9 of 4."
    suggestions = suggest(text, "emdr")
    assert [s.term for s in suggestions] == ["EMDR", "bilateral eye movements", "sertraline",
                                             "PHQ-9"]  # fmt: skip
    ends = [s.end for s in suggestions]
    assert all(end <= nxt.start for end, nxt in zip(ends, suggestions[1:], strict=False))

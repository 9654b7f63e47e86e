"""Clinical terms put back in the vocabulary's case: only terms, only whole words, only the
dictation's own modality, never a word that is also everyday English."""

from __future__ import annotations

import pytest

from appliance.drafting import pipeline
from appliance.drafting.casing import cased_terms, normalise_casing


@pytest.mark.parametrize(
    ("heard", "modality", "written"),
    [
        ("emdr session 6", "emdr", "EMDR session 6"),
        ("The emDR target", "emdr", "The EMDR target"),
        (
            "the starting sud was 8 and the Voc was 2",
            "emdr",
            "the starting SUD was 8 and the VOC was 2",
        ),
        ("phq 9 of 14, Phq9 later, gad-7 of 9", "cbt", "PHQ-9 of 14, PHQ-9 later, GAD-7 of 9"),
        ("we role played dear man", "dbt", "we role played DEAR MAN"),
        ("Dear-Man and the tipp skill in dbt", "dbt", "DEAR MAN and the TIPP skill in DBT"),
        ("with socratic questioning", "cbt", "with Socratic questioning"),
        ("60 percent self energy", "ifs", "60 percent Self-energy"),
    ],
)
def test_it_writes_a_term_as_the_vocabulary_does(heard: str, modality: str, written: str) -> None:
    assert normalise_casing(heard, modality) == written


@pytest.mark.parametrize(
    ("text", "modality"),
    [
        ("Suddenly the client felt sad.", "emdr"),  # "sud" inside "sudden"
        ("The suds and the sudoku.", "emdr"),
        ("We act on values, and the Act of 1990.", "act"),  # ACT is also the verb
        ("No ifs or buts.", "ifs"),
        ("Oh dear, man, that was hard.", "dbt"),  # punctuation between: not the skill
        ("The emdr_target field, sud_end and phq-90.", "emdr"),
        ("A tip for the tippy chair.", "dbt"),
        ("Gadget 7 and phq 10.", "cbt"),
    ],
)
def test_it_leaves_words_that_are_not_a_term_alone(text: str, modality: str) -> None:
    assert normalise_casing(text, modality) == text


def test_only_the_dictations_own_modality_is_recased() -> None:
    assert normalise_casing("emdr and dbt", "cbt") == "emdr and dbt"
    assert normalise_casing("emdr and dbt", "dbt") == "emdr and DBT"


def test_lower_case_terms_keep_a_sentences_capital() -> None:
    # Medications and lower-case terms are not cased at all: "Sertraline" begins a sentence.
    assert "sertraline" not in {t.lower() for t in cased_terms("cbt")}
    assert normalise_casing("Sertraline 50 mg. Desensitization.", "emdr") == (
        "Sertraline 50 mg. Desensitization."
    )


def test_an_unknown_modality_gets_the_common_scales_only() -> None:
    assert normalise_casing("phq9 and emdr", "unknown") == "PHQ-9 and emdr"


class Whisper:
    def transcribe(self, audio: bytes, audio_format: str, vocabulary: str | None = None) -> str:
        return "emdr session, the sud was 7."


def test_the_transcript_comes_out_of_the_pipeline_cased() -> None:
    assert pipeline.transcribe(Whisper(), b"", "wav", "emdr") == "EMDR session, the SUD was 7."

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model_server.wer import term_recall, word_error_rate
from speech_io.normalise import normalise

DICTATIONS = Path(__file__).resolve().parents[1] / "fixtures" / "dictations"


def test_identical_text_has_no_errors() -> None:
    assert (
        word_error_rate(
            "The client denies suicidal ideation.", "The client denies suicidal ideation."
        )
        == 0.0
    )


def test_one_substitution_in_four_words_is_a_quarter() -> None:
    assert word_error_rate("safety plan was reviewed", "safety plan was revised") == 0.25


def test_a_deleted_word_counts_once() -> None:
    assert word_error_rate("the client denies ideation", "the client ideation") == 0.25


def test_an_inserted_word_counts_once() -> None:
    assert word_error_rate("the client denies ideation", "the client denies any ideation") == 0.25


def test_insertions_can_take_the_rate_above_one() -> None:
    assert word_error_rate("yes", "yes no no no") == 3.0


def test_the_distance_is_the_smallest_edit_not_a_position_by_position_count() -> None:
    # A shift by one word: position by position, all 4 would differ; the edit distance is 2.
    assert word_error_rate("a b c d", "b c d e") == 0.5


def test_an_empty_hypothesis_is_all_deletions() -> None:
    assert word_error_rate("diary card reviewed", "") == 1.0


def test_a_reference_without_words_is_refused() -> None:
    with pytest.raises(ValueError, match="no words"):
        word_error_rate(" ... ", "anything")


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("PHQ-9 of 14", "PHQ 9 of fourteen"),
        ("PHQ-9", "phq9"),
        ("GAD-7 was 11.", "gad seven was eleven"),
        ("sertraline 50 mg", "Sertraline fifty milligrams"),
        ("sertraline 50mg", "sertraline 50 milligrams"),
        ("bupropion 150 mg", "bupropion one hundred and fifty milligrams"),
        ("SUD went from 7 to 2", "SUD went from seven to two"),
        ("twenty-one", "21"),
        ("November 4th", "November fourth"),
        ("the 21st", "the twenty first"),
        ("at 2:30 PM", "at two thirty p.m."),
        ("80%", "eighty percent"),
        ("1,000", "1000"),
        ("The client's self-harm urges.", "the client\u2019s self harm urges"),
        ("Denies SI, intent, or plan!", "denies si intent or plan"),
    ],
)
def test_formatting_differences_normalise_away(written: str, spoken: str) -> None:
    assert normalise(written) == normalise(spoken)
    assert word_error_rate(written, spoken) == 0.0


def test_real_recognition_errors_still_count() -> None:
    # Different drugs, different numbers, a term split in two: errors, not formatting.
    assert word_error_rate("sertraline 50 mg", "certain line 15 mg") == 1.0
    # "unblend" -> "un" is a substitution and "blend" an insertion: 2 errors in 4 words.
    assert word_error_rate("unblend from the critic", "un blend from the critic") == 0.5


def test_term_recall_counts_terms_found() -> None:
    terms = ["DEAR MAN", "diary card", "PHQ-9", "14"]
    hypothesis = "We reviewed the diary card. PHQ nine was fourteen; practiced dear men."
    assert term_recall(terms, hypothesis) == 0.75


def test_term_recall_needs_the_words_of_a_term_together() -> None:
    assert term_recall(["DEAR MAN"], "dear client, the man said") == 0.0


def test_term_recall_matches_whole_words_only() -> None:
    assert term_recall(["transference"], "countertransference was noted") == 0.0
    assert term_recall(["transference"], "a transference pattern") == 1.0


def test_term_recall_refuses_an_empty_list_and_empty_terms() -> None:
    with pytest.raises(ValueError):
        term_recall([], "anything")
    with pytest.raises(ValueError, match="no words"):
        term_recall(["--"], "anything")


def _manifest() -> list[dict[str, object]]:
    entries: list[dict[str, object]] = json.loads((DICTATIONS / "manifest.json").read_text())[
        "dictations"
    ]
    return entries


@pytest.mark.parametrize("entry", _manifest(), ids=lambda entry: str(entry["id"]))
def test_each_dictation_script_contains_all_its_key_terms(entry: dict[str, object]) -> None:
    # A perfect transcript must score 1.0, or the benchmark's term recall measures the manifest.
    script = (DICTATIONS / str(entry["script"])).read_text()
    terms = entry["key_terms"]
    assert isinstance(terms, list) and terms
    assert term_recall([str(term) for term in terms], script) == 1.0
    assert word_error_rate(script, script) == 0.0
    assert script.isascii()
    assert (DICTATIONS / str(entry["audio"])).stat().st_size > 0

from __future__ import annotations

from appliance.notes.segment import split_sentences


def test_sentences_keep_their_spans() -> None:
    text = "She slept 6.5 hours.  We met at 2 p.m. with Dr. Lee! Next week?"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "She slept 6.5 hours.",
        "We met at 2 p.m. with Dr. Lee!",
        "Next week?",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_text_without_a_final_period_is_still_a_sentence() -> None:
    assert [s.text for s in split_sentences("homework assigned")] == ["homework assigned"]


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("  \n ") == []

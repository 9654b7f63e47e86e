from __future__ import annotations

import pytest

from speech_io.normalise import normalise


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("PHQ-9 of Fourteen.", ["phq", "9", "of", "14"]),
        ("seven two", ["7", "2"]),  # two numbers side by side stay two numbers
        ("twenty ten", ["20", "10"]),
        ("one hundred one two", ["101", "2"]),
        ("lorazepam 0.5 mg.", ["lorazepam", "0.5", "milligrams"]),
        ("E.M.D.R. session", ["emdr", "session"]),
        ("a hundred", ["a", "hundred"]),  # only a number word before "hundred" multiplies
        ("end.Next", ["end", "next"]),
        ("don't", ["don't"]),
        ("'quoted'", ["quoted"]),
    ],
)
def test_normalised_words(text: str, words: list[str]) -> None:
    assert normalise(text) == words

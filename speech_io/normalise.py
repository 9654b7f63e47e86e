"""One normalisation of spoken-and-written text, so two texts compare by what was said.

A dictation script is written the way a person writes ("PHQ-9 of 14", "2:30 PM"); Whisper
writes numbers as digits and espeak-ng speaks them as words. Word error rate, key-term recall
(model_server.wer, eval) and the rewrite check (appliance.drafting.faithful) all compare text
after this normalisation, so they measure what was said rather than how it was written.

Normalisation, in order (each step says why):
  1. Lower-case; curly apostrophes become straight ones (Whisper emits either).
  2. "%" becomes " percent", so "80%" equals "80 percent".
  3. Thousands separators go ("1,000" -> "1000"). A point between digits stays ("0.5 mg" is a
     dose); a point after a single letter is dropped, so "p.m." and "PM" both become "pm" (and
     "E.M.D.R." "emdr"). Every other character that is not a letter, a digit or an in-word
     apostrophe becomes a space: "PHQ-9", "PHQ 9" and "phq-9," all become ["phq", "9"],
     "2:30" becomes ["2", "30"], "self-harm" becomes ["self", "harm"].
  4. Ordinal suffixes go from digits ("4th" -> "4"), then letters and digits that touch are split
     ("PHQ9" -> "phq 9", "50mg" -> "50 mg").
  5. "mg" becomes "milligrams": it is how a dose is spoken and how Whisper often writes it.
  6. Number words from zero to 999, cardinal or ordinal, become digits: "fourteen" -> "14",
     "twenty-one" -> "21", "one hundred and fifty" -> "150", "fourth" -> "4". Runs that are not
     one number stay apart ("seven two" -> "7 2"; a year spoken as "twenty twenty six" becomes
     "20 26", which does not equal "2026": the dictations avoid years). "one" as a pronoun
     becomes "1" as well; that is harmless because both sides are normalised the same way.

Not handled, on purpose: spelled-out letters ("E M D R" vs "EMDR"), spelling variants
("behavioural"), thousands and beyond in words. Each would count as an error, which is what
they are for a transcript a clinician has to correct.
"""

from __future__ import annotations

import re

from speech_io.number_words import TEENS as _TEENS
from speech_io.number_words import TENS as _TENS
from speech_io.number_words import UNITS as _UNITS

_ORDINAL_UNITS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
_ORDINAL_TEENS = {word + "th": value for word, value in _TEENS.items() if word != "twelve"}
_ORDINAL_TEENS.update({"tenth": 10, "twelfth": 12})
_ORDINAL_TENS = {word[:-1] + "ieth": value for word, value in _TENS.items()}

# Spoken abbreviations Whisper may write either way.
_ABBREVIATIONS = {"mg": "milligrams"}

_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# The point after a one-letter word is dropped, so "p.m." is "pm" and "E.M.D.R." "emdr".
_INITIAL_POINT = re.compile(r"\b([a-z])\.")
# Anything but letters, digits, a point between digits and an apostrophe between letters.
_SEPARATOR = re.compile(r"(?:[^a-z0-9.']|(?<!\d)\.|\.(?!\d)|(?<![a-z])'|'(?![a-z]))+")
_DIGIT_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")


def normalise(text: str) -> list[str]:
    """The words of `text` in the form both WER and term recall compare (see module doc)."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("%", " percent ")
    text = _THOUSANDS_COMMA.sub("", text)
    text = _INITIAL_POINT.sub(r"\1", text)
    text = _SEPARATOR.sub(" ", text)
    text = _DIGIT_ORDINAL.sub(r"\1", text)
    text = _LETTER_DIGIT.sub(" ", text)
    words = [_ABBREVIATIONS.get(word, word) for word in text.split()]
    return _numbers_to_digits(words)


def _number_word(word: str) -> tuple[str, int, bool] | None:
    """(kind, value, is_ordinal) for a number word below one hundred, else None."""
    for kind, cardinals, ordinals in (
        ("unit", _UNITS, _ORDINAL_UNITS),
        ("teen", _TEENS, _ORDINAL_TEENS),
        ("tens", _TENS, _ORDINAL_TENS),
    ):
        if word in cardinals:
            return kind, cardinals[word], False
        if word in ordinals:
            return kind, ordinals[word], True
    return None


def _numbers_to_digits(words: list[str]) -> list[str]:
    out: list[str] = []
    value: int | None = None  # the number being read, if any
    last = ""  # the previous word of that number: "unit", "teen", "tens", "hundred" or "and"

    def flush() -> None:
        nonlocal value, last
        if value is not None:
            out.append(str(value))
        value, last = None, ""

    for index, word in enumerate(words):
        parsed = _number_word(word)
        if parsed is None:
            if word == "hundred" and value is not None and 0 < value < 100 and last != "and":
                value, last = value * 100, "hundred"
            elif (
                word == "and"
                and last == "hundred"
                and index + 1 < len(words)
                and _number_word(words[index + 1]) is not None
            ):
                last = "and"  # "one hundred and fifty": this "and" is part of the number
            else:
                flush()
                out.append(word)
            continue
        kind, number, ordinal = parsed
        if value is not None and (
            last in ("hundred", "and")  # "one hundred fifty", "one hundred and five"
            or (
                last == "tens" and kind == "unit" and number > 0 and value % 10 == 0
            )  # "twenty one"
        ):
            value += number
        else:
            flush()  # "seven two" is two numbers
            value = number
        last = kind
        if ordinal:
            flush()  # nothing extends "fourth" or "twenty first"
    flush()
    return out

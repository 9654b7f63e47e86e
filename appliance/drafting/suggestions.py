"""Suggested corrections of Whisper's mishearings of clinical terms, for the clinician to accept.

A statement's words are compared with the terms Whisper was told to expect (the dictation's
modality vocabulary, the common scales, the medications: appliance.drafting.vocabulary). Where
a run of words is near a term without being it ("certraline", "a propion", "bilateral I
movements", "e m d r"), the term is suggested for exactly those characters. Nothing is applied
here: the review page shows each suggestion beside its statement, and only the clinician's
click changes the text (appliance.notes.corrections). Suggestions are computed from the
statement as it now reads, every time, so nothing about them is stored until one is accepted.

Deterministic and conservative, because a wrong suggestion costs the clinician a look and an
accepted wrong one costs the record its truth:
  - the term's own letters written otherwise ("e m d r", "phq 9", "self as context", "emDR")
    are suggested for any term (case only where the vocabulary's case is part of the term, as
    appliance.drafting.casing decides);
  - other letters only for terms of at least MIN_FUZZY_LETTERS letters: among short words one
    letter apart is another word ("sad", "sod", "sub" are not "SUD");
  - a near spelling must sound alike too (metaphone codes at most one apart), unless it is
    very close in spelling alone (nine letters in ten);
  - an everyday English word is what the speaker said, not a mishearing ("anger" is not
    "manager", "German" not "DEAR MAN"), unless a phrase keeps one of the term's own words
    ("cognitive diffusion", "bilateral I movements");
  - another form of the same word is a word the speaker chose ("values" for "value",
    "resistant", "reaction" for "action");
  - a run of words never spans punctuation: "dear, man" is two thoughts.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from appliance.drafting.casing import EVERYDAY_WORDS, cased_terms
from appliance.drafting.grounding import MEDICATIONS as GROUNDED_MEDICATIONS
from appliance.drafting.vocabulary import BY_MODALITY, COMMON, MEDICATIONS
from appliance.drafting.word_likeness import (
    MIN_STEM,
    everyday_words,
    forms_of_one_word,
    near_word,
    similarity,
    sound,
    sounds_apart,
    stem,
)

SPELLING = "spelling"  # the term's own letters, written otherwise
SOUNDS_ALIKE = "sounds_alike"
LOOKS_ALIKE = "looks_alike"

MIN_FUZZY_LETTERS = 6
SOUNDS_ALIKE_SIMILARITY = 0.7  # share of letters right, for a spelling that sounds alike
LOOKS_ALIKE_SIMILARITY = 0.9  # share of letters right, for a spelling alone
# Phrases clinicians say that the Whisper hint leaves out (Whisper gets them right unaided
# more often than not), still misheard in ways worth a suggestion.
SPOKEN_PHRASES: dict[str, tuple[str, ...]] = {
    "emdr": ("bilateral eye movements", "eye movements"),
}
# A word keeps its apostrophe ("value's" is not "values"); one joined to others by "_" is not
# a word of speech ("sud_end").
_WORD = re.compile(r"(?<![\w'])[A-Za-z0-9]+(?:'[A-Za-z]+)?(?![\w'])")
# What may stand between the words of one term: a space or a hyphen, nothing that ends a thought.
_JOIN = re.compile(r"[ \t-]{1,2}")


@dataclass(frozen=True)
class Suggestion:
    start: int  # offsets in the statement's text: text[start:end] == heard
    end: int
    heard: str
    term: str
    reason: str  # SPELLING, SOUNDS_ALIKE or LOOKS_ALIKE


@dataclass(frozen=True)
class _Term:
    text: str
    words: tuple[str, ...]  # lower-case
    key: str  # its letters and digits, lower-case, run together
    sound: str
    cased: bool  # its case is part of its spelling (appliance.drafting.casing restores it)
    digits: bool


@dataclass(frozen=True)
class _Window:
    start: int
    end: int
    words: tuple[str, ...]  # lower-case
    key: str
    digits: bool
    everyday: bool  # every word of it an everyday English word


@dataclass(frozen=True)
class _Vocabulary:
    by_key: dict[str, tuple[_Term, ...]]
    fuzzy: tuple[_Term, ...]  # long enough for other letters, by key length
    fuzzy_lengths: tuple[int, ...]
    longest_words: int
    longest_key: int


def _term(text: str, cased: bool) -> _Term:
    words = tuple(w.lower() for w in _WORD.findall(text))
    key = "".join(words)
    return _Term(text, words, key, sound(words), cased, _has_digits(key))


def _has_digits(text: str) -> bool:
    return any(c.isdigit() for c in text)


@cache
def terms_for(modality: str) -> tuple[str, ...]:
    """The terms suggested in a dictation of `modality`: what Whisper was hinted with, the
    grounding check's medications, and the modality's spoken phrases."""
    names = dict.fromkeys(
        BY_MODALITY.get(modality, ())
        + COMMON
        + SPOKEN_PHRASES.get(modality, ())
        + MEDICATIONS
        + GROUNDED_MEDICATIONS
    )
    return tuple(t for t in names if t.lower() not in EVERYDAY_WORDS)


@cache
def _vocabulary(modality: str) -> _Vocabulary:
    cased = set(cased_terms(modality))
    terms = [_term(t, t in cased) for t in terms_for(modality)]
    by_key: dict[str, tuple[_Term, ...]] = {}
    for term in terms:
        by_key[term.key] = (*by_key.get(term.key, ()), term)
    fuzzy = tuple(sorted((t for t in terms if len(t.key) >= MIN_FUZZY_LETTERS), key=_key_length))
    return _Vocabulary(
        by_key=by_key,
        fuzzy=fuzzy,
        fuzzy_lengths=tuple(len(t.key) for t in fuzzy),
        longest_words=max((len(t.words) for t in terms), default=0),
        longest_key=max((len(t.key) for t in terms), default=0),
    )


def _key_length(term: _Term) -> int:
    return len(term.key)


def _windows(text: str, most_words: int, most_letters: int) -> Iterator[_Window]:
    """Every run of up to `most_words` words (and `most_letters` letters) not broken by
    punctuation."""
    everyday = everyday_words()
    found = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
    # "value's" is as everyday as "value".
    known = [word.split("'")[0] in everyday for _, _, word in found]
    for first in range(len(found)):
        key = ""
        for last in range(first, min(first + most_words, len(found))):
            if last > first and not _JOIN.fullmatch(text[found[last - 1][1] : found[last][0]]):
                break
            key += found[last][2]
            if len(key) > most_letters:
                break
            yield _Window(
                start=found[first][0],
                end=found[last][1],
                words=tuple(w for _, _, w in found[first : last + 1]),
                key=key,
                digits=_has_digits(key),
                everyday=all(known[first : last + 1]),
            )


def _respelled(heard: str, term: _Term) -> bool:
    """The term's own letters: is the way they are written worth a suggestion?"""
    if heard == term.text:
        return False
    if heard.lower() != term.text.lower():
        return True  # spaced, hyphenated or run together otherwise
    return term.cased  # the case alone: it matters for acronyms and names only


def _misheard(window: _Window, term: _Term) -> str | None:
    """Why `window` is probably `term` misheard (SOUNDS_ALIKE, LOOKS_ALIKE), or None. The
    checks on words come before the edit distance: they rule out most windows for less."""
    if len(window.words) > len(term.words) + 2 or window.digits != term.digits:
        return None
    phrase = len(window.words) == len(term.words) > 1
    if phrase:
        differing = [(a, b) for a, b in zip(window.words, term.words, strict=True) if a != b]
        # A phrase is recognised by the words it keeps: one at least must be the term's own.
        if len(differing) == len(term.words):
            return None
    elif window.everyday:
        return None  # what the speaker said: "anger", "protect a", "German"
    closeness = similarity(window.key, term.key)
    if closeness < SOUNDS_ALIKE_SIMILARITY:
        return None
    if phrase:
        # Each word the phrase changes must be near the term's word on its own: "bar
        # association" is as close to "free association" as a whole, and nothing like it.
        if not all(near_word(a, b) for a, b in differing):
            return None
    elif forms_of_one_word(window.key, term.key) or any(
        len(w) >= MIN_STEM and stem(w) == stem(k) for w in window.words for k in term.words
    ):
        return None
    if closeness >= LOOKS_ALIKE_SIMILARITY:
        return LOOKS_ALIKE
    if sounds_apart(sound(window.words), term.sound) <= 1:
        return SOUNDS_ALIKE
    return None


def _near_lengths(vocabulary: _Vocabulary, length: int) -> tuple[_Term, ...]:
    """The long terms whose length lets `length` letters reach the similarity threshold."""
    low = int(length * SOUNDS_ALIKE_SIMILARITY)
    high = int(length / SOUNDS_ALIKE_SIMILARITY) + 1
    lengths = vocabulary.fuzzy_lengths
    return vocabulary.fuzzy[bisect_left(lengths, low) : bisect_right(lengths, high)]


def suggest(text: str, modality: str) -> list[Suggestion]:
    """The suggested corrections in `text`, in reading order, none overlapping another."""
    vocabulary = _vocabulary(modality)
    most_letters = int(vocabulary.longest_key / SOUNDS_ALIKE_SIMILARITY) + 1
    ranked: list[tuple[tuple[float, int, int], Suggestion]] = []
    # Characters that read as a term already: never suggested another (only its own spelling).
    already_term = bytearray(len(text))
    for window in _windows(text, vocabulary.longest_words + 2, most_letters):
        heard = text[window.start : window.end]
        for term in vocabulary.by_key.get(window.key, ()):
            if _respelled(heard, term):
                suggestion = Suggestion(
                    window.start, window.end, heard, _written(term, heard), SPELLING
                )
                ranked.append(((-2.0, window.start - window.end, window.start), suggestion))
            else:
                already_term[window.start : window.end] = b"\x01" * (window.end - window.start)
        for term in _near_lengths(vocabulary, len(window.key)):
            if term.key == window.key:
                continue
            reason = _misheard(window, term)
            if reason is not None:
                written = _written(term, heard)
                suggestion = Suggestion(window.start, window.end, heard, written, reason)
                closeness = -similarity(window.key, term.key)
                ranked.append(((closeness, window.start - window.end, window.start), suggestion))
    # Best first: the term's own letters, then the closest spelling, then the longer span.
    taken: list[Suggestion] = []
    occupied = bytearray(len(text))
    for _, suggestion in sorted(ranked, key=lambda pair: pair[0]):
        start, end = suggestion.start, suggestion.end
        if suggestion.reason != SPELLING and any(already_term[start:end]):
            continue
        if not any(occupied[start:end]):
            taken.append(suggestion)
            occupied[start:end] = b"\x01" * (end - start)
    return sorted(taken, key=lambda s: s.start)


def _written(term: _Term, heard: str) -> str:
    """The term as it replaces `heard`: a lower-case term keeps a sentence's capital."""
    if not term.cased and heard[:1].isupper():
        return term.text[:1].upper() + term.text[1:]
    return term.text


def apply_suggestion(text: str, suggestion: Suggestion) -> str:
    """`text` with exactly the suggestion's characters replaced by its term."""
    if text[suggestion.start : suggestion.end] != suggestion.heard:
        raise ValueError("the text changed since the suggestion was made")
    return text[: suggestion.start] + suggestion.term + text[suggestion.end :]

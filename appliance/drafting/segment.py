"""Splitting a transcript into sentences that keep their character spans (the provenance)."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

# Abbreviations a clinician says that end in a period but do not end a sentence.
_ABBREVIATIONS = ("dr.", "mr.", "mrs.", "ms.", "e.g.", "i.e.", "vs.", "approx.", "a.m.", "p.m.")
_LONGEST_ABBREVIATION = max(len(a) for a in _ABBREVIATIONS)
_BOUNDARY = re.compile(r"[.!?](?=\s|$)|\n")
# Whisper often runs a dictation's sentences together with commas ("..., the client denies
# suicidal ideation, the client reports starting ..."). In a sentence that long, a comma
# followed by a new clause's subject ends a statement, so that each fact can be placed (and a
# risk clause isolated) on its own. Shorter sentences and other commas are left alone: "the
# negative cognition was, I am powerless" is one thought.
RUN_ON_WORDS = 30
# "\s++" (possessive): what follows starts with a letter, so blanks are never given back.
_CLAUSE_START = re.compile(
    r",\s++(?=(?:the client|client|we|the therapist|therapist|plan is|the plan|"
    r"next session|the next session|homework|symptoms|at the end)\b)",
    re.IGNORECASE,
)
_MIN_CLAUSE_WORDS = 4
_WORD = re.compile(r"\S+")  # a word as str.split() finds it


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str


def split_sentences(transcript: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    start = 0
    # Whether the text since `start`, less trailing blanks, ends with an abbreviation: then the
    # boundary found is no sentence end ("Dr. Lee", "Dr.\nLee"). Kept up to date boundary by
    # boundary instead of re-reading the text since `start` at each one, which made "Dr. " or
    # "Dr." and blank lines repeated to the typed-note limit quadratic.
    abbreviated = False
    previous_end = 0
    for match in _BOUNDARY.finditer(transcript):
        end = match.end()
        if match.group() == "\n":
            # A line break keeps an abbreviation open only across blanks ("Dr.\n\nLee").
            abbreviated = abbreviated and not transcript[previous_end : match.start()].strip()
        else:  # the boundary ends with its full stop, so only the last few characters count
            tail = transcript[max(start, end - _LONGEST_ABBREVIATION) : end]
            abbreviated = tail.lower().endswith(_ABBREVIATIONS)
        previous_end = end
        if abbreviated:
            continue
        _add(sentences, transcript, start, end)
        start = end
    _add(sentences, transcript, start, len(transcript))
    return sentences


def _add(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    offset = start + len(piece) - len(piece.lstrip())
    for clause_start, clause_end in _clauses(stripped):
        clause = stripped[clause_start:clause_end]
        sentences.append(
            Sentence(len(sentences), offset + clause_start, offset + clause_end, clause)
        )


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each statement in one sentence: the whole of it unless it is a run-on."""
    # Where each word starts, so that the words before and after a comma are counted by
    # bisection: splitting the rest of the sentence at every comma was quadratic on a typed
    # run-on ("..., we ..." thousands of times).
    words = [match.start() for match in _WORD.finditer(sentence)]
    if len(words) <= RUN_ON_WORDS:
        return [(0, len(sentence))]
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in _CLAUSE_START.finditer(sentence):
        cut = match.start() + 1  # the comma stays with its clause
        # A blank follows `cut` and a word starts at `start` and at `match.end()`, so these are
        # the word counts of sentence[start:cut] and sentence[match.end():].
        before = bisect_left(words, cut) - bisect_left(words, start)
        after = len(words) - bisect_left(words, match.end())
        if before >= _MIN_CLAUSE_WORDS and after >= _MIN_CLAUSE_WORDS:
            pieces.append((start, cut))
            start = match.end()
    pieces.append((start, len(sentence)))
    return pieces

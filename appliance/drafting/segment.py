"""Splitting a transcript into sentences that keep their character spans (the provenance)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Abbreviations a clinician says that end in a period but do not end a sentence.
_ABBREVIATIONS = ("dr.", "mr.", "mrs.", "ms.", "e.g.", "i.e.", "vs.", "approx.", "a.m.", "p.m.")
_BOUNDARY = re.compile(r"[.!?](?=\s+|$)|\n")
# Whisper often runs a dictation's sentences together with commas ("..., the client denies
# suicidal ideation, the client reports starting ..."). In a sentence that long, a comma
# followed by a new clause's subject ends a statement, so that each fact can be placed (and a
# risk clause isolated) on its own. Shorter sentences and other commas are left alone: "the
# negative cognition was, I am powerless" is one thought.
RUN_ON_WORDS = 30
_CLAUSE_START = re.compile(
    r",\s+(?=(?:the client|client|we|the therapist|therapist|plan is|the plan|"
    r"next session|the next session|homework|symptoms|at the end)\b)",
    re.IGNORECASE,
)
_MIN_CLAUSE_WORDS = 4


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str


def split_sentences(transcript: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(transcript):
        end = match.end()
        candidate = transcript[start:end]
        if candidate.strip().lower().endswith(_ABBREVIATIONS):
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
    offset = start + piece.index(stripped)
    for clause_start, clause_end in _clauses(stripped):
        clause = stripped[clause_start:clause_end]
        sentences.append(
            Sentence(len(sentences), offset + clause_start, offset + clause_end, clause)
        )


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each statement in one sentence: the whole of it unless it is a run-on."""
    if len(sentence.split()) <= RUN_ON_WORDS:
        return [(0, len(sentence))]
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in _CLAUSE_START.finditer(sentence):
        before, after = sentence[start : match.start() + 1], sentence[match.end() :]
        if len(before.split()) >= _MIN_CLAUSE_WORDS and len(after.split()) >= _MIN_CLAUSE_WORDS:
            pieces.append((start, match.start() + 1))  # the comma stays with its clause
            start = match.end()
    pieces.append((start, len(sentence)))
    return pieces

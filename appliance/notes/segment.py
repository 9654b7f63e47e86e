"""Splitting a transcript into sentences that keep their character spans (the provenance)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Abbreviations a clinician says that end in a period but do not end a sentence.
_ABBREVIATIONS = ("dr.", "mr.", "mrs.", "ms.", "e.g.", "i.e.", "vs.", "approx.", "a.m.", "p.m.")
_BOUNDARY = re.compile(r"[.!?](?=\s+|$)")


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
    sentences.append(Sentence(len(sentences), offset, offset + len(stripped), stripped))

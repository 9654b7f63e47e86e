"""The transcript cut at the spans the draft's statements cite, so the page can link each
statement to the words it came from (click or hover a statement: its source lights up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Piece:
    text: str
    ref: int | None  # the citing statement's number, or None for uncited text


def statement_refs(draft: dict[str, Any]) -> dict[str, list[int]]:
    """Section key -> one number per statement, counted through the sections in page order."""
    refs: dict[str, list[int]] = {}
    number = 0
    for key, statements in draft["sections"].items():
        refs[key] = list(range(number, number + len(statements)))
        number += len(statements)
    return refs


def linked_transcript(transcript: str, draft: dict[str, Any]) -> list[Piece]:
    """`transcript` in order, each cited span marked with its statement's number. Spans that do
    not fit the text (a transcript other than the one drafted from) are left unmarked rather
    than pointing at the wrong words."""
    spans: list[tuple[int, int, int]] = []
    refs = statement_refs(draft)
    for key, statements in draft["sections"].items():
        for ref, statement in zip(refs[key], statements, strict=True):
            for span in statement["provenance"]:
                start, end = int(span["start"]), int(span["end"])
                if transcript[start:end] == span["text"]:
                    spans.append((start, end, ref))
    pieces: list[Piece] = []
    position = 0
    for start, end, ref in sorted(spans):
        if start < position:  # overlapping citations: the first keeps the words
            continue
        if start > position:
            pieces.append(Piece(transcript[position:start], None))
        pieces.append(Piece(transcript[start:end], ref))
        position = end
    if position < len(transcript):
        pieces.append(Piece(transcript[position:], None))
    return pieces

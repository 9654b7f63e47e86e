"""The transcript cut at the spans the draft's statements cite, so the page can link each
statement to the words it came from (click or hover a statement: its source lights up)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from appliance.drafting.draft import Span


class Cited(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def provenance(self) -> Sequence[Span]: ...


class CitingDocument(Protocol):
    """A machine draft or a note's working copy: statements citing the transcript."""

    def statements(self) -> Iterator[tuple[str, Cited]]: ...


@dataclass(frozen=True)
class Piece:
    text: str
    ref: str | None  # the citing statement's id, or None for uncited text


def linked_transcript(transcript: str, draft: CitingDocument) -> list[Piece]:
    """`transcript` in order, each cited span marked with its statement's id. Spans that do not
    fit the text (a transcript other than the one drafted from) are left unmarked rather than
    pointing at the wrong words."""
    spans: list[tuple[int, int, str]] = []
    for _, statement in draft.statements():
        for span in statement.provenance:
            if transcript[span.start : span.end] == span.text:
                spans.append((span.start, span.end, statement.id))
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

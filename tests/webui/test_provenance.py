from __future__ import annotations

from typing import Any

from webui.provenance import Piece, linked_transcript, statement_refs

TRANSCRIPT = "Slept badly. PHQ-9 was 12. Homework: thought record."


def _statement(start: int, end: int) -> dict[str, Any]:
    text = TRANSCRIPT[start:end]
    return {"text": text, "provenance": [{"start": start, "end": end, "text": text}]}


def _draft(**sections: list[dict[str, Any]]) -> dict[str, Any]:
    return {"sections": sections}


def test_statements_are_numbered_through_the_sections_in_page_order() -> None:
    draft = _draft(subjective=[_statement(0, 12)], plan=[_statement(27, 52)], risk=[])
    assert statement_refs(draft) == {"subjective": [0], "plan": [1], "risk": []}


def test_the_transcript_is_cut_at_each_cited_span_and_keeps_every_character() -> None:
    draft = _draft(objective=[_statement(13, 26)], plan=[_statement(27, 52), _statement(0, 12)])
    pieces = linked_transcript(TRANSCRIPT, draft)
    assert "".join(p.text for p in pieces) == TRANSCRIPT
    assert [p for p in pieces if p.ref is not None] == [
        Piece("Slept badly.", 2),
        Piece("PHQ-9 was 12.", 0),
        Piece("Homework: thought record.", 1),
    ]


def test_a_span_that_does_not_match_the_text_is_not_linked() -> None:
    wrong = {"text": "x", "provenance": [{"start": 0, "end": 12, "text": "Slept well."}]}
    pieces = linked_transcript(TRANSCRIPT, _draft(subjective=[wrong]))
    assert pieces == [Piece(TRANSCRIPT, None)]

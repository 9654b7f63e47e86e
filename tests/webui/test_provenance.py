from __future__ import annotations

from appliance.drafting.draft import Draft, Span, Statement
from webui.provenance import Piece, linked_transcript

TRANSCRIPT = "Slept badly. PHQ-9 was 12. Homework: thought record."


def _statement(statement_id: str, start: int, end: int) -> Statement:
    text = TRANSCRIPT[start:end]
    return Statement(statement_id, text, [Span(start, end, text)], "cue")


def _draft(**sections: list[Statement]) -> Draft:
    return Draft(TRANSCRIPT, "cbt", "soap", sections, {}, {}, [])


def test_the_transcript_is_cut_at_each_cited_span_and_keeps_every_character() -> None:
    draft = _draft(
        objective=[_statement("s2", 13, 26)],
        plan=[_statement("s3", 27, 52), _statement("s1", 0, 12)],
    )
    pieces = linked_transcript(TRANSCRIPT, draft)
    assert "".join(p.text for p in pieces) == TRANSCRIPT
    assert [p for p in pieces if p.ref is not None] == [
        Piece("Slept badly.", "s1"),
        Piece("PHQ-9 was 12.", "s2"),
        Piece("Homework: thought record.", "s3"),
    ]


def test_a_span_that_does_not_match_the_text_is_not_linked() -> None:
    wrong = Statement("s1", "x", [Span(0, 12, "Slept well.")], "cue")
    pieces = linked_transcript(TRANSCRIPT, _draft(subjective=[wrong]))
    assert pieces == [Piece(TRANSCRIPT, None)]

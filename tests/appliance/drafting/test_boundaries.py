"""The learned boundary model: where a spoken sentence ends inside a Whisper run-on."""

from __future__ import annotations

from itertools import pairwise

from appliance.drafting.boundaries import (
    MIN_PIECE_WORDS,
    MIN_SENTENCE_WORDS,
    BoundaryModel,
    _opens_a_trailing_clause,
    shared_boundaries,
    spoken_statements,
)
from appliance.drafting.draft import RISK, build_draft
from appliance.drafting.placement import load_corpus
from appliance.drafting.segment import split_sentences

# Written for these tests in the way Whisper writes a natural voice: one sentence, commas only.
COMMA_RUN_ON = (
    "Individual therapy session 4, seen on Friday, the client reported that panic attacks "
    "happened twice this week, the GAD-7 was 13, we practised paced breathing and reviewed the "
    "panic cycle, the client was able to slow her breathing within two minutes, homework is to "
    "log each attack."
)
OPENINGS = (
    "the client reported",
    "we practised",
    "the client was able",
    "homework is",
)


def _pieces(text: str) -> list[str]:
    return [text[start:end] for start, end in shared_boundaries().pieces(text)]


def test_a_comma_joined_run_on_is_cut_where_each_spoken_sentence_begins() -> None:
    pieces = _pieces(COMMA_RUN_ON)
    assert pieces[0] == "Individual therapy session 4, seen on Friday,"
    for opening in OPENINGS:
        assert any(piece.startswith(opening) for piece in pieces), (opening, pieces)


def test_a_run_on_with_no_punctuation_at_all_is_cut_too() -> None:
    bare = COMMA_RUN_ON.replace(",", "").replace(".", "").lower()
    pieces = _pieces(bare)
    for opening in ("the client reported", "we practised", "the client was able"):
        assert any(piece.startswith(opening) for piece in pieces), (opening, pieces)


def test_the_pieces_cover_the_sentence_and_keep_its_commas() -> None:
    pieces = shared_boundaries().pieces(COMMA_RUN_ON)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(COMMA_RUN_ON)
    for (_, end), (start, _) in pairwise(pieces):
        assert COMMA_RUN_ON[end:start] == " "  # nothing lost between pieces
    assert all(COMMA_RUN_ON[end - 1] == "," for _, end in pieces[:-1])


def test_a_sentence_shorter_than_the_minimum_is_never_cut() -> None:
    short = "The client said, I always let people down, the PHQ-9 was 14 today."
    assert len(short.split()) < MIN_SENTENCE_WORDS
    assert _pieces(short) == [short]


def test_no_piece_is_shorter_than_the_minimum() -> None:
    choppy = ", ".join(["we met", "she cried", "I listened", "she slept"] * 8) + "."
    pieces = _pieces(choppy)
    assert all(len(piece.split()) >= MIN_PIECE_WORDS for piece in pieces)


def test_a_long_written_sentence_with_the_writers_own_commas_stays_whole() -> None:
    written = (
        "The client arrived early, sat near the door, spoke quietly and kept her coat on for "
        "most of the hour, which fits the anxious presentation we have seen since intake."
    )
    assert len(written.split()) >= MIN_SENTENCE_WORDS
    assert _pieces(written) == [written]


def test_spoken_statements_keep_their_spans_and_their_written_sentence() -> None:
    # No commas: the openings segment.py cuts at ("..., the client") need one before them.
    bare = COMMA_RUN_ON.replace(",", "")
    transcript = "Session note for J.M. " + bare + " Next session is Tuesday."
    written = split_sentences(transcript)
    statements = spoken_statements(written)
    assert len(statements) > len(written)
    assert [s.index for s in statements] == list(range(len(statements)))
    for statement in statements:
        assert transcript[statement.start : statement.end] == statement.text
    run_on = [s for s in statements if s.text in bare]
    assert len({s.written for s in run_on}) == 1
    assert statements[-1].written == written[-1].written != run_on[0].written


def test_the_same_corpus_trains_the_same_model() -> None:
    corpus = load_corpus()[:400]
    words = COMMA_RUN_ON.split()
    assert BoundaryModel(corpus).probabilities(words) == BoundaryModel(corpus).probabilities(words)


def test_a_quote_a_clinician_introduces_stays_with_its_sentence() -> None:
    said = (
        "D.H. was quieter than usual and said, I just don't see the point of any of this "
        "anymore, and when I checked in after group he denied suicidal ideation."
    )
    told = (
        "She talked about the presentation she keeps putting off, and told me, I just freeze, "
        "and everyone will see I'm a fraud, which she said twice."
    )
    assert len(said.split()) >= MIN_SENTENCE_WORDS and len(told.split()) >= MIN_SENTENCE_WORDS
    assert _pieces(said) == [said]
    assert _pieces(told) == [told]


# Risk is placed by rule, a whole statement at a time; a run-on that joins the next spoken
# sentence to a risk statement would hide it in Risk (written for these tests).
def test_a_risk_statement_lets_go_of_the_spoken_sentence_joined_to_it() -> None:
    heard = (
        "He denied suicidal ideation, intent or plan, he continues fluoxetine 20 milligrams "
        "each morning with no side effects."
    )
    assert len(heard.split()) < MIN_SENTENCE_WORDS  # too short for the general pass
    statements = spoken_statements(split_sentences(heard))
    assert [s.text for s in statements] == [
        "He denied suicidal ideation, intent or plan,",
        "he continues fluoxetine 20 milligrams each morning with no side effects.",
    ]
    draft = build_draft(heard, "cbt", "dap")
    assert [s.text for s in draft.sections[RISK]] == [statements[0].text]
    assert [s.text for s in draft.sections["data"]] == [statements[1].text]


def test_a_risk_statement_with_its_own_commas_stays_whole() -> None:
    said = (
        "She reported passive thoughts last week that her family would be better off without "
        "her, with no plan or intent."
    )
    assert [s.text for s in spoken_statements(split_sentences(said))] == [said]


# Written for this test the way Whisper wrote a neural voice: no comma after the label.
def test_no_cut_comes_straight_after_a_fields_label_said_as_a_heading() -> None:
    heard = (
        "the client reports taking sertraline daily and shows more flexibility and is moving "
        "toward acceptance for committed action the client will walk for 20 minutes on three "
        "mornings"
    )
    for piece in _pieces(heard):
        assert not piece.rstrip(", ").endswith("for committed action")
    labelled = "For homework, she will log each urge and what she did instead of acting on it."
    assert all(not p.endswith("For homework") for p in _pieces(labelled))


def test_a_sentence_opening_with_a_dependent_clause_is_not_cut_after_it() -> None:
    # "When ...," is no statement without the clause it depends on; cut there, the question went
    # to Intervention and its answer to Response, two statements of one written sentence.
    sentence = (
        "When I asked where she could have stepped off the chain, she said, I could have used "
        "TIPP instead of grabbing my keys."
    )
    assert _pieces(sentence) == [sentence]


def test_a_run_on_is_still_cut_before_a_dependent_clause_and_after_a_main_one() -> None:
    run_on = (
        "The client reported that panic attacks happened twice this week, when I asked about "
        "the car she said it was the worst place, we practised paced breathing for ten minutes"
    )
    pieces = _pieces(run_on)
    assert any(piece.startswith("we practised") for piece in pieces), pieces


def test_a_bare_run_on_that_opens_with_a_dependent_word_is_still_cut() -> None:
    bare = COMMA_RUN_ON.replace(",", "").replace(".", "").lower()
    pieces = _pieces(f"when she arrived {bare}")
    assert len(pieces) > 1, pieces


def test_a_clause_after_a_comma_stays_with_what_it_depends_on() -> None:
    # "..., when he ..." with no comma to close it says when the chain happened: cut there,
    # the chain analysis field held "Sunday" and the clause went to another section.
    sentence = (
        "Then we did a chain analysis of Sunday night, when he drank most of a case of beer after "
        "his brother left without saying goodbye."
    )
    assert _pieces(sentence) == [sentence]


def test_a_when_clause_that_and_follows_stays_with_the_sentence_before_it() -> None:
    # Cut there, the denial went to Risk and "when I asked, and she laughed ..." elsewhere.
    said = "No suicidal ideation, she denied it when I asked, and she laughed about it"
    words = said.split(" ")
    gap = words.index("it")
    assert _opens_a_trailing_clause(words, gap)


def test_a_cognitions_label_stays_with_who_chose_it() -> None:
    # Cut there, the positive cognition field was empty and "he wants is ..." a statement of
    # its own (a probe dictation's script, stop 29).
    sentence = (
        'The negative cognition is still "It\'s my fault," and the positive cognition he wants '
        'is "I did the best I could."'
    )
    assert _pieces(sentence) == [sentence]


def test_a_spoken_sentence_opening_with_when_is_still_the_models_to_cut() -> None:
    closed = "she had a hard week, when I asked about sleep, she said four hours"
    trailing = "she had a hard week, when she slept four hours a night"
    gap = 4  # after "week,"
    assert not _opens_a_trailing_clause(closed.split(" "), gap)
    assert _opens_a_trailing_clause(trailing.split(" "), gap)


def test_a_quote_introduced_by_in_his_words_stays_with_its_sentence() -> None:
    sentence = (
        "He came in quiet and slowed down, and said he missed his son's recital again because, "
        "in his words, I'll just be stuck in my head."
    )
    assert _pieces(sentence) == [sentence]


def test_no_piece_starts_with_and() -> None:
    sentence = (
        "Belief in the thought that she always fails fell from 90 percent to 50 percent after "
        "weighing the evidence, and we practiced a balanced alternative thought."
    )
    assert all(not piece.lower().startswith("and ") for piece in _pieces(sentence))

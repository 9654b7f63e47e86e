from __future__ import annotations

import pytest

from appliance.drafting.segment import split_sentences


def test_sentences_keep_their_spans() -> None:
    text = "She slept 6.5 hours.  We met at 2 p.m. with Dr. Lee! Next week?"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "She slept 6.5 hours.",
        "We met at 2 p.m. with Dr. Lee!",
        "Next week?",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_text_without_a_final_period_is_still_a_sentence() -> None:
    assert [s.text for s in split_sentences("homework assigned")] == ["homework assigned"]


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences("  \n ") == []


RUN_ON = (
    "We also did an empty chair exercise, where the client spoke to the father for the first "
    "time, symptoms are consistent with grief and engagement is good, the client denies "
    "suicidal ideation and feels safe at home, plan is weekly sessions and a follow-up PHQ-9 "
    "in four weeks"
)


def test_a_whisper_run_on_is_split_where_a_new_clause_begins() -> None:
    texts = [s.text for s in split_sentences(RUN_ON)]
    assert texts == [
        "We also did an empty chair exercise, where the client spoke to the father for the "
        "first time,",
        "symptoms are consistent with grief and engagement is good,",
        "the client denies suicidal ideation and feels safe at home,",
        "plan is weekly sessions and a follow-up PHQ-9 in four weeks",
    ]
    assert all(RUN_ON[s.start : s.end] == s.text for s in split_sentences(RUN_ON))


def test_a_short_sentence_with_a_comma_before_a_subject_stays_whole() -> None:
    text = "The negative cognition was, I am powerless, and we noted it, the client agreed."
    assert [s.text for s in split_sentences(text)] == [text]


def test_what_comes_next_is_its_own_statement_even_in_a_short_sentence() -> None:
    text = "The client denies suicidal ideation, intent, or plan, homework is two thought records."
    assert [s.text for s in split_sentences(text)] == [
        "The client denies suicidal ideation, intent, or plan,",
        "homework is two thought records.",
    ]
    measured = "the PHQ-9 was 16, we will meet again on Friday."
    assert [s.text for s in split_sentences(measured)] == [
        "the PHQ-9 was 16,",
        "we will meet again on Friday.",
    ]


def test_a_plan_word_after_too_short_an_opening_keeps_the_sentence_whole() -> None:
    text = "As planned, homework was reviewed first."
    assert [s.text for s in split_sentences(text)] == [text]


def test_each_typed_line_is_its_own_statement() -> None:
    text = "Reviewed diary card\nPracticed TIPP skills\n\nHomework: DEAR MAN script"
    assert [s.text for s in split_sentences(text)] == [
        "Reviewed diary card",
        "Practiced TIPP skills",
        "Homework: DEAR MAN script",
    ]


def test_a_sentence_that_ends_in_a_word_ending_like_an_abbreviation_still_ends() -> None:
    # "symptoms." and "forms." end in "ms.", which is only "Ms." as a word of its own.
    text = "She reported fewer symptoms. We practiced breathing. Ms. Lee signed the forms. Done."
    assert [s.text for s in split_sentences(text)] == [
        "She reported fewer symptoms.",
        "We practiced breathing.",
        "Ms. Lee signed the forms.",
        "Done.",
    ]


def test_typed_shorthand_with_a_period_does_not_end_a_sentence_it_begins() -> None:
    text = "Pt. reports poor sleep. Dx. MDD, recurrent. Hx. of panic attacks. F/u in 2 wks."
    assert [s.text for s in split_sentences(text)] == [
        "Pt. reports poor sleep.",
        "Dx. MDD, recurrent.",
        "Hx. of panic attacks.",
        "F/u in 2 wks.",
    ]


def test_pt_inside_a_sentence_continues_it_before_a_lower_case_word_only() -> None:
    text = "Met w/ pt. today for approx. 50 min. Saw pt. Pt denies SI/HI."
    assert [s.text for s in split_sentences(text)] == [
        "Met w/ pt. today for approx. 50 min.",
        "Saw pt.",
        "Pt denies SI/HI.",
    ]


def test_a_unit_with_a_period_ends_its_sentence() -> None:
    # "wks." ends more typed sentences than it continues: "f/u in 2 wks." must not swallow the
    # risk line after it.
    assert [s.text for s in split_sentences("F/u in 2 wks. Pt denies SI.")] == [
        "F/u in 2 wks.",
        "Pt denies SI.",
    ]


def test_a_line_break_ends_a_typed_line_even_after_shorthand() -> None:
    text = "Saw pt.\npt c/o anxiety\nSI/HI denied; +AVH\nHW: thought record daily"
    # A semicolon is no boundary (as in dictation): the risk line stays one statement.
    assert [s.text for s in split_sentences(text)] == [
        "Saw pt.",
        "pt c/o anxiety",
        "SI/HI denied; +AVH",
        "HW: thought record daily",
    ]
    assert all(text[s.start : s.end] == s.text for s in split_sentences(text))


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Couples session with partners S.W. and D.W. today. They argued.",
            ["Couples session with partners S.W. and D.W. today.", "They argued."],
        ),
        ("Client J.M. reported poor sleep.", ["Client J.M. reported poor sleep."]),
        (
            "Session note for J.M. The client arrived late.",
            ["Session note for J.M.", "The client arrived late."],
        ),
        # Not initials: a word ends with them.
        ("We saw xJ.M. today.", ["We saw xJ.M.", "today."]),
    ],
)
def test_initials_continue_a_sentence_before_a_lower_case_word_and_end_it_otherwise(
    text: str, sentences: list[str]
) -> None:
    assert [s.text for s in split_sentences(text)] == sentences


def test_a_full_stop_inside_a_closing_quote_ends_the_sentence() -> None:
    text = 'She said, "Maybe he is right." Explored the theme of loss. He said "fine." and left.'
    assert [s.text for s in split_sentences(text)] == [
        'She said, "Maybe he is right."',
        "Explored the theme of loss.",
        'He said "fine." and left.',
    ]
    assert [s.text for s in split_sentences("She called it \u201cthe pit.\u201d Then cried.")] == [
        "She called it \u201cthe pit.\u201d",
        "Then cried.",
    ]

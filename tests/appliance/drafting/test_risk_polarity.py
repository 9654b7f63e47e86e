"""Reading which way each mention of ideation goes, in words and in typed shorthand."""

from __future__ import annotations

import pytest

from appliance.drafting.risk_polarity import Polarity, read_mentions

DENIED, REPORTED, HISTORY, STATED = (
    Polarity.DENIED,
    Polarity.REPORTED,
    Polarity.HISTORY,
    Polarity.STATED,
)


def _read(text: str) -> list[tuple[str, Polarity | None]]:
    return [(m.term, m.polarity) for m in read_mentions(text)]


def test_each_mention_keeps_its_characters() -> None:
    text = "Pt denies SI/HI, +self-harm"
    assert [(text[m.start : m.end], m.term) for m in read_mentions(text)] == [
        ("SI", "SI"),
        ("HI", "HI"),
        ("self-harm", "self-harm"),
    ]


@pytest.mark.parametrize(
    ("text", "read"),
    [
        # A list shares the word before it, or the word after it.
        ("denies SI, HI, self-harm", [("SI", DENIED), ("HI", DENIED), ("self-harm", DENIED)]),
        ("SI/HI denied", [("SI", DENIED), ("HI", DENIED)]),
        # A sign on a mention is its own, whatever the list says.
        ("denies SI, +HI", [("SI", DENIED), ("HI", REPORTED)]),
        ("-SI/HI", [("SI", DENIED), ("HI", DENIED)]),
        # A clause ends at "but" and ";": each side has its own word.
        ("no SI but + HI", [("SI", DENIED), ("HI", REPORTED)]),
        # After a colon, or past a comma, the word after the mention is its value.
        ("SI: none HI: endorsed", [("SI", DENIED), ("HI", REPORTED)]),
        ("Mood low, denies anxiety, SI endorsed", [("SI", REPORTED)]),
        # "w/o plan" qualifies ideation that is there; "w/o SI" denies it.
        ("SI w/o plan", [("SI", REPORTED)]),
        ("Presents w/o SI", [("SI", DENIED)]),
        # A negated report word is a denial.
        ("Pt did not endorse SI", [("SI", DENIED)]),
        ("Pt denies having SI", [("SI", DENIED)]),
        # A history is not current ideation.
        ("hx of SI", [("SI", HISTORY)]),
        ("Prior SI, no current SI", [("SI", HISTORY), ("SI", DENIED)]),
        # Clear, but neither way: no flag of either kind.
        ("SI has been assessed", [("SI", STATED)]),
        # Nothing says which way: unclear.
        ("The client dies suicidal ideation.", [("suicidal", None), ("ideation", None)]),
        # "hi" the greeting is no mention; in capitals, or in a list, it is HI.
        ("She noticed the guard come up and just said hi to it", []),
        ("He waved hi to the group, hi there", []),
        ("Says hi to staff on arrival; HI denied", [("HI", DENIED)]),
        ("Denies SI/hi", [("SI", DENIED), ("hi", DENIED)]),
    ],
)
def test_mentions_are_read_with_their_own_polarity(
    text: str, read: list[tuple[str, Polarity | None]]
) -> None:
    assert _read(text) == read


def test_a_risk_screen_is_read_but_never_needs_a_direction() -> None:
    [screen] = read_mentions("C-SSRS completed")
    assert screen.screen and screen.polarity is None
    assert _read("CSSRS +") == [("CSSRS", REPORTED)]


# "thoughts of" and "urges to" between two mentions keep them one list, sharing the denial
# (found on a dictation written for issue 14: the denial was flagged as reported self-harm).
@pytest.mark.parametrize(
    ("text", "read"),
    [
        (
            "She denied suicidal ideation or thoughts of self-harm and denied HI.",
            [("suicidal", DENIED), ("ideation", DENIED), ("self-harm", DENIED), ("HI", DENIED)],
        ),
        ("Denies SI and urges to self-harm.", [("SI", DENIED), ("self-harm", DENIED)]),
        # Still reported where nothing denies them, or where the clause changes.
        ("She reports thoughts of self-harm.", [("self-harm", REPORTED)]),
        ("Denies SI but has urges to self-harm.", [("SI", DENIED), ("self-harm", REPORTED)]),
        ("No SI, thoughts of self-harm present.", [("SI", DENIED), ("self-harm", REPORTED)]),
    ],
)
def test_thoughts_of_and_urges_to_keep_a_denied_list_together(
    text: str, read: list[tuple[str, Polarity | None]]
) -> None:
    assert _read(text) == read

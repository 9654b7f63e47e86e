"""Cuts where a comma-joined run-on changes what it is about (appliance.drafting.topic_shifts)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from appliance.drafting.draft import build_draft
from appliance.drafting.topic_shifts import (
    CLAUSE_CERTAINTY,
    LEAST_CHANCE,
    with_topic_shifts,
)

# Written for these tests: clipped notes read aloud, as Whisper writes them (commas only).
CLIPPED = (
    "pt identified guilt as the main link on her own, mood six out of ten at end, engaged more "
    "after the chain, practice opposite action twice this week, keep diary card daily, next "
    "session Tuesday"
)


class _Reader:
    """A classifier that knows each clause's concepts, and keeps what it was asked."""

    def __init__(self, by_clause: Mapping[str, dict[str, float]]) -> None:
        self.by_clause = by_clause
        self.asked: list[str] = []

    def __call__(self, texts: list[str]) -> list[dict[str, float]]:
        self.asked.extend(texts)
        return [self.by_clause[text] for text in texts]


WORDS = [
    *("she", "engaged", "well", "in", "the", "exercise,"),
    *("homework", "is", "two", "more", "records"),
]
COMMA = 5  # the gap after "exercise,"


def _chances(at_comma: float) -> list[float]:
    return [at_comma if gap == COMMA else 0.0 for gap in range(len(WORDS) - 1)]


def test_a_comma_between_clauses_that_say_different_things_is_a_cut() -> None:
    read = _Reader(
        {
            "she engaged well in the exercise,": {"response": 0.9, "plan": 0.1},
            "homework is two more records": {"plan": 0.8, "response": 0.2},
        }
    )
    assert with_topic_shifts(WORDS, _chances(0.2), read)[COMMA] == 1.0


@pytest.mark.parametrize(
    ("after", "chance"),
    [
        # The same concept either side: nothing to cut (the model's own chance stands).
        ({"response": 0.9, "plan": 0.1}, 0.2),
        # A clause the classifier is unsure of.
        ({"plan": CLAUSE_CERTAINTY - 0.05, "report": 0.4}, 0.2),
        # A gap the boundary model all but rules out.
        ({"plan": 0.9}, LEAST_CHANCE / 2),
    ],
)
def test_no_cut_where_the_topic_does_not_clearly_change(
    after: dict[str, float], chance: float
) -> None:
    read = _Reader(
        {
            "she engaged well in the exercise,": {"response": 0.9, "plan": 0.1},
            "homework is two more records": after,
        }
    )
    assert with_topic_shifts(WORDS, _chances(chance), read)[COMMA] == chance


def test_a_clause_too_short_to_classify_is_no_evidence() -> None:
    words = ["phase", "three,", "she", "settled", "quickly", "after", "the", "scan"]
    read = _Reader(
        {
            "phase three,": {"intervention": 0.9},
            "she settled quickly after the scan": {"response": 0.9},
        }
    )
    chances = [0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert with_topic_shifts(words, chances, read) == chances


def test_each_distinct_clause_is_read_once() -> None:
    words = ("calm and settled today, " * 200).split()
    read = _Reader({"calm and settled today,": {"observation": 0.9}})
    with_topic_shifts(words, [0.5] * (len(words) - 1), read)
    assert read.asked == ["calm and settled today,"]


def test_clipped_notes_read_aloud_keep_the_response_apart_from_the_plan() -> None:
    draft = build_draft(CLIPPED, "dbt", "birp")
    response = " ".join(s.text for s in draft.sections["response"])
    plan = " ".join(s.text for s in draft.sections["plan"])
    assert "engaged more after the chain" in response
    assert "engaged more" not in plan and "practice opposite action" in plan

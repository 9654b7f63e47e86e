"""Casing and suggestions stay fast on hostile text (as drafting does: issue 11, finding 3).

Casing runs on every transcript before it is stored; suggestions run on every statement each
time the review page is shown, and a statement can be as long as the typed-note limit (typed
notes without a full stop). Neither may take super-linear time: each is timed on the limit,
built from the pieces its patterns react to, and must finish well under the bound.
"""

from __future__ import annotations

import pytest

from appliance.drafting.casing import normalise_casing
from appliance.drafting.suggestions import suggest
from appliance.records.dictations import MAX_TYPED
from tests.appliance.drafting.timing import fastest_run

# Generous against the 1.4 s the slowest input below (words of no language: every window
# compared with every term of its length) took on 2 busy cores; a check quadratic in the
# words takes minutes at this size. Each is judged on its fastest of a few runs
# (tests/appliance/drafting/timing.py), so one pause of a busy machine does not fail it.
SECONDS = 5.0
PIECES = (
    "certraline bilateral I movements ",  # a suggestion every few words
    "e m d r ",  # single letters: the longest windows of the term's own letters
    "phq 9 ",
    "dear-man-",  # joined by hyphens: runs of words never broken by punctuation
    "a" * 97 + " ",  # long words
    "qzxv ",  # no word of English, no term
    "- - ",
    "sud_end ",
)


@pytest.mark.parametrize("piece", PIECES)
def test_suggestions_on_the_typed_note_limit_take_well_under_seconds(piece: str) -> None:
    text = (piece * (MAX_TYPED // len(piece) + 1))[:MAX_TYPED]
    took = fastest_run(SECONDS, suggest, text, "emdr")
    assert took < SECONDS, f"suggestions took {took:.2f} s"


@pytest.mark.parametrize("piece", PIECES)
def test_casing_the_typed_note_limit_takes_well_under_seconds(piece: str) -> None:
    text = (piece * (MAX_TYPED // len(piece) + 1))[:MAX_TYPED]
    took = fastest_run(SECONDS, normalise_casing, text, "dbt")
    assert took < SECONDS, f"casing took {took:.2f} s"

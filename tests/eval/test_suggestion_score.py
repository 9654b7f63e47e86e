"""The eval's count of suggested corrections: made, right (the script says the term there) and
wrong."""

from __future__ import annotations

import pytest

from eval.cases import Case, load_cases
from eval.suggestion_score import score_suggestions

SCRIPT = (
    "We completed 18 sets of bilateral eye movements. The client takes citalopram 10 "
    "milligrams daily. We practiced DEAR MAN with the partner."
)
CASES = {c.id: c for c in load_cases()}


def test_a_suggestion_is_right_where_the_script_says_the_term_and_wrong_elsewhere() -> None:
    heard = (
        "we completed 18 sets of bilateral I movements, the client takes certraline 10 "
        "milligrams daily, we practiced DRMAN with the partner."
    )
    score = score_suggestions(SCRIPT, heard, "dbt")
    assert [(c.heard, c.term, c.right) for c in score.checked] == [
        ("certraline", "sertraline", False),  # the script says citalopram
        ("DRMAN", "DEAR MAN", True),
    ]
    assert (score.made, score.right, score.wrong) == (2, 1, 1)
    emdr = score_suggestions(SCRIPT, heard, "emdr")
    assert [(c.term, c.right) for c in emdr.checked] == [
        ("bilateral eye movements", True),
        ("sertraline", False),
    ]


def test_the_place_counts_not_just_the_term_somewhere_in_the_script() -> None:
    script = "EMDR session 2. We talked about the weekend at length today."
    heard = "EMDR session 2. We talked about the emdr at length today."
    (checked,) = score_suggestions(script, heard, "emdr").checked
    assert (checked.heard, checked.term, checked.right) == ("emdr", "EMDR", False)


def test_a_transcript_without_mishearings_makes_no_suggestion() -> None:
    score = score_suggestions(SCRIPT, SCRIPT, "emdr")
    assert (score.made, score.right, score.wrong) == (0, 0, 0)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_no_script_of_the_evaluation_set_gets_a_suggestion(case: Case) -> None:
    # Every suggestion on a script would be a wrong one: the scripts are what was said.
    assert score_suggestions(case.script, case.script, case.modality).made == 0

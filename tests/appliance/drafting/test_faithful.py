"""The deterministic check a model's rewrite must pass to replace the dictated sentence."""

from __future__ import annotations

import pytest

from appliance.drafting.faithful import Rejection, rejection


@pytest.mark.parametrize(
    ("source", "rewrite"),
    [
        ("She said her PHQ-9 was 14.", "The client reported a PHQ-9 score of 14."),
        ("She denies SI and HI.", "The client denied suicidal and homicidal ideation."),
        ("I don't think she slept much.", "The clinician does not believe the client slept much."),
        ("SUD went from seven to two.", "The client's SUD went from seven to two."),
        ("He takes 1 sertraline tablet.", "The client takes one sertraline tablet."),
        ("Homework: two thought records.", "Homework: the client will do two thought records."),
        ("We meet again on Tuesday.", "The clinician and client will meet again on Tuesday."),
        ("We practiced DEAR MAN.", "The clinician and client practiced DEAR MAN."),
    ],
)
def test_a_faithful_paraphrase_passes(source: str, rewrite: str) -> None:
    assert rejection(source, rewrite, risk="SI" in source) is None


@pytest.mark.parametrize(
    ("source", "rewrite", "risk", "why"),
    [
        ("PHQ-9 was 14.", "The PHQ-9 score was recorded.", False, Rejection.DROPPED),
        ("SUD went from seven to two.", "SUD decreased to two.", False, Rejection.DROPPED),
        ("GAD-7 of 9 today.", "Anxiety score of 9 today.", False, Rejection.DROPPED),
        ("She stopped sertraline.", "The client stopped her medication.", False, Rejection.DROPPED),
        ("She did not do the homework.", "The client did the homework.", False, Rejection.DROPPED),
        ("We meet again on Tuesday.", "The next session is next week.", False, Rejection.DROPPED),
        ("She denies SI and HI.", "The client denies suicidal ideation.", True, Rejection.DROPPED),
        ("Mood was low.", "Mood was low; PHQ-9 of 14.", False, Rejection.INVENTED),
        ("Sleep improved.", "Sleep improved on trazodone.", False, Rejection.INVENTED),
        ("SUD went from seven to two.", "SUD went from 7 to 2.", False, Rejection.INVENTED),
        ("PHQ-9 of 11.", "PHQ-9 of 11, GAD-7 of 40.", False, Rejection.INVENTED),
        ("Mood was low.", "Mood was low, without suicidal ideation.", False, Rejection.INVENTED),
        ("Mood was low.", "Mood was not low.", False, Rejection.INVENTED),
        ("She denies SI.", "The client reports SI.", True, Rejection.POLARITY),
        ("She reports passive SI.", "The client denies SI.", True, Rejection.POLARITY),
        ("She denies SI and HI.", "The client denies SI and denies HI.", True, Rejection.POLARITY),
        # Content words: every number intact, yet a clinical term lost or added (make eval).
        (
            "Emotion dysregulation was high.",
            "Emotion regulation was high.",
            False,
            Rejection.DROPPED,
        ),
        ("We used check the facts.", "The clinician used a skill.", False, Rejection.DROPPED),
        (
            "SUD went from seven to two.",
            "SUD decreased from seven to two.",
            False,
            Rejection.DROPPED,
        ),
        ("Sleep improved.", "Sleep improved significantly.", False, Rejection.INVENTED),
        (
            "We practiced TIPP.",
            "The client practiced TIPP successfully.",
            False,
            Rejection.INVENTED,
        ),
        ("Mood was low.", "", False, Rejection.FORM),
        ("Mood was low.", "Mood was low. " * 6, False, Rejection.FORM),
        ("Mood was low.", "Mood was low.\nSleep was poor.", False, Rejection.FORM),
        ("Mood was low.", "Assessment: mood was low.", False, Rejection.FORM),
        ("Mood was low.", "## Mood was low.", False, Rejection.FORM),
        ("Mood was low.", "- Mood was low.", False, Rejection.FORM),
    ],
)
def test_an_unfaithful_rewrite_is_rejected_with_its_reason(
    source: str, rewrite: str, risk: bool, why: Rejection
) -> None:
    assert rejection(source, rewrite, risk=risk) == why


def test_a_rewrite_that_drops_the_risk_screen_is_rejected() -> None:
    # "C-SSRS" is a risk term now (issue 14), so it is no content word: the scale name keeps it.
    assert rejection("C-SSRS neg.", "The screen was negative.", risk=True) is not None

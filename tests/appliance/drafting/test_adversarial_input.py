"""Drafting stays fast on hostile text: no pattern may take super-linear time (issue 11, finding 3).

Drafting runs inside `appliance serve` on the job workers, so one dictation whose text makes a
regular expression backtrack quadratically ("PHQ-9" and 20,000 spaces took ~13 s, 50,000
characters ~85 s) stalls drafting for every user. Each stage is timed on its own, with the
typed-note limit as the largest input, and must finish within STAGE_SECONDS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from appliance.drafting.boundaries import shared_boundaries
from appliance.drafting.draft import build_draft
from appliance.drafting.faithful import rejection
from appliance.drafting.formats import FORMATS
from appliance.drafting.grounding import implausible_scores, specifics, ungrounded
from appliance.drafting.modalities import FIELDS, extract_fields
from appliance.drafting.placement import shared_classifier
from appliance.drafting.risk import (
    is_risk_sentence,
    polarity_unclear,
    reported_death_wishes,
    reported_risk,
)
from appliance.drafting.segment import Sentence, split_sentences
from appliance.records.dictations import MAX_TYPED
from tests.appliance.drafting.timing import fastest_run

# The blow-ups this guards against took 6-85 s; a whole draft of 50,000 characters takes 0.5-1 s
# on the 2-core CI machine, varying from run to run, so each stage is judged on the fastest of a
# few runs (tests/appliance/drafting/timing.py).
# 3 s, not 1 s: ~1,300 stages on 2 busy cores meet slow spells; 6-85 s blow-ups still fail.
STAGE_SECONDS = 3.0

# Pieces that the drafting patterns react to: scale names and the words around a score, runs
# of the characters their gaps skip (spaces, punctuation, digits), sentence ends and
# abbreviations, run-on clause starts, risk and polarity words, modality field triggers.
PIECES = (
    " ",
    "   ",
    "\n",
    "\t",
    ".",
    ". ",
    ",",
    ", ",
    ":",
    "=",
    "-",
    "!",
    "?",
    "'",
    "0",
    "9",
    "17",
    "123456789",
    "1.",
    "1,",
    "1:",
    "PHQ-9",
    "PHQ-9 ",
    "phq 9 ",
    "GAD-7 ",
    "PCL-5 ",
    "SUD",
    "SUD ",
    "SUDS ",
    "VOC ",
    "score ",
    "was ",
    "of ",
    "is ",
    "from ",
    "to ",
    " to",
    "out of ",
    "out of 10 ",
    "Dr.",
    "Dr. ",
    "e.g.",
    "approx.",
    ", the client ",
    ", we ",
    "word ",
    "x",
    "denies ",
    "didn't ",
    "suicidal ideation ",
    "SI ",
    "ideation",
    "self-harm",
    "safety plan ",
    "phase ",
    "homework ",
    "value ",
    "target ",
    "diary card ",
    "negative cognition was, I ",
    "and the positive cognition ",
    "on the memory of ",
    "no ",
    "did not use the ",
    "unburden ",
    "Self ",
    "percent ",
    "dropped to ",
    "at the start and ",
    "seven ",
    "forty-",
    "rated anxiety ",
    "will ",
    "sertraline ",
    "major depressive disorder ",
    "#",
    "**",
    "Plan:",
    # Typed shorthand (issue 14): signs and slashes on risk words, abbreviations with periods.
    "pt. ",
    "Pt. ",
    "SI/HI ",
    "+SI ",
    "-SI/",
    "SI: ",
    "neg ",
    "w/o plan ",
    "hx of ",
    "(+)",
    "C-SSRS ",
    "HW: ",
    "f/u ",
    "passive ",
    # Passive ideation's phrasings: bounded gaps between a person and a wish.
    "better off ",
    "without me ",
    "if she ",
    "wake up ",
    "wish ",
    "worth living ",
    "want to ",
    # Fields read across a few words: "the theme underneath it is", "it dropped to".
    "theme ",
    "it dropped to ",
    "today, down from ",
    "diffusion ",
    "disturbance ",
    "by the end of the session it was a ",
    "preferred belief she chose was, ",
    "phase four begins ",
    "scored 14 on the ",
    "compared with ",
    "previously ",
    "came back at ",
    # Earlier values, cognitions, targets and values as clinicians say them.
    "at intake back in March it was ",
    "last time it was ",
    "basically unchanged from ",
    "rated the memory a ",
    "at the start and a ",
    "that goes with it is ",
    "belief she'd like to have is ",
    "target from last week, which is ",
    "Self energy there, maybe ",
    "values she said ",
    "named ",
    "is what matters most to him ",
    "for committed action ",
    "cutting down ",
    # Passive ideation in words (a wish to be dead, not to wake up).
    "wishes ",
    "wish, ",
    "dead ",
    "not wake up ",
    "to die ",
)
piece = st.sampled_from(PIECES)
phrase = st.lists(piece, min_size=1, max_size=4).map("".join)


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """A few pieces, then one phrase repeated up to the typed-note limit, then a few more:
    the shape that makes a pattern with a wide gap rescan the same run from every start."""
    head = "".join(draw(st.lists(piece, max_size=4)))
    body = draw(phrase)
    tail = "".join(draw(st.lists(piece, max_size=4)))
    # Mostly at the limit: a blow-up shows at size, and Hypothesis left alone favours short text.
    size = draw(st.sampled_from((MAX_TYPED, MAX_TYPED, MAX_TYPED // 2, 2_000)))
    repeats = max(1, (size - len(head) - len(tail)) // len(body))
    return (head + body * repeats + tail)[:MAX_TYPED]


@pytest.fixture(autouse=True, scope="module")
def _trained_classifier() -> None:
    """The placement classifier and the boundary model train once per process (a few seconds,
    plus importing scikit-learn) before the first draft; what is timed here is drafting, every
    time after."""
    shared_classifier()
    shared_boundaries()


def _timed(stage: str, run: Callable[..., Any], *args: Any) -> None:
    took = fastest_run(STAGE_SECONDS, run, *args)
    assert took < STAGE_SECONDS, f"{stage} took {took:.2f} s"


def _every_stage_is_fast(text: str, modality: str) -> None:
    _timed("split_sentences", lambda: split_sentences(text))
    sentences = split_sentences(text)
    # Also the whole text as one sentence: a typed line of 50,000 characters is one sentence,
    # and a pattern that scans to a full stop or a sentence's end sees all of it.
    whole = Sentence(0, 0, len(text), text)
    _timed("is_risk_sentence", lambda: [is_risk_sentence(s) for s in [whole, *sentences]])
    _timed("polarity_unclear", lambda: polarity_unclear(text))
    _timed("reported_risk", lambda: reported_risk(text))
    _timed("reported_death_wishes", lambda: reported_death_wishes(text))
    _timed("specifics", lambda: specifics(text))
    _timed("ungrounded", lambda: ungrounded(text, text))
    _timed("implausible_scores", lambda: implausible_scores(text))
    for name in FIELDS:
        _timed(f"extract_fields({name})", extract_fields, name, [whole])
        _timed(f"extract_fields({name}, sentences)", extract_fields, name, sentences)
    for key in FORMATS:
        _timed(f"build_draft({key})", build_draft, text, modality, key)
    # The writer's check reads the cited sentence and the model's rewrite the same way.
    _timed("faithful.rejection", lambda: rejection(text, text + " x", risk=True))


# A failing 50 kB example makes Hypothesis warn about its repr, and the suite turns warnings
# into errors: that warning hid which stage was slow. The stage's own message is the one to see.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(
    max_examples=25,
    deadline=None,  # timed by hand, per stage, above
    database=None,  # nothing kept between runs: an input worth keeping becomes an @example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=hostile_text(), modality=st.sampled_from(sorted(FIELDS)))
# The security review's inputs, always tried whatever the random examples are.
@example(text="PHQ-9" + " " * 20_000, modality="emdr")
@example(text="PHQ-9" + " " * (MAX_TYPED - 5), modality="cbt")
@example(text="SUD " * (MAX_TYPED // 4), modality="emdr")
def test_every_drafting_stage_stays_linear_on_hostile_text(text: str, modality: str) -> None:
    _every_stage_is_fast(text, modality)


# The exact inputs of the review, as plain tests: what took 13 s and 85 s there.
PATHOLOGICAL = {
    "phq9_and_20000_spaces": "PHQ-9" + " " * 20_000,
    "phq9_and_spaces_to_the_limit": "PHQ-9" + " " * (MAX_TYPED - 5),
    "phq9_repeated_to_the_limit": "PHQ-9 " * (MAX_TYPED // 6),
    "sud_repeated_to_the_limit": "SUD " * (MAX_TYPED // 4),
    "doctor_abbreviations_to_the_limit": "Dr. " * (MAX_TYPED // 4),
    "abbreviation_then_blank_lines_to_the_limit": "Dr." + "\n" * (MAX_TYPED - 3),
    # Issue 14's shorthand: a label's period read at every one, a list of mentions as long as
    # the note, and a sign with nothing after it.
    "pt_abbreviations_to_the_limit": "Pt. pt. " * (MAX_TYPED // 8),
    "blanks_then_labels_to_the_limit": " " * (MAX_TYPED // 2) + "pt. " * (MAX_TYPED // 8),
    "si_list_to_the_limit": "SI/" * (MAX_TYPED // 3),
    "signed_mentions_to_the_limit": "-SI +HI " * (MAX_TYPED // 8),
    "colons_after_a_mention_to_the_limit": "SI" + ":" * (MAX_TYPED - 2),
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_the_reviews_pathological_inputs_draft_in_linear_time(text: str) -> None:
    assert len(text) <= MAX_TYPED
    _timed("implausible_scores", lambda: implausible_scores(text))
    _timed("split_sentences", lambda: split_sentences(text))
    sentences = split_sentences(text)
    for name in FIELDS:
        _timed(f"extract_fields({name})", extract_fields, name, sentences)
    for key in FORMATS:
        _timed(f"build_draft({key})", build_draft, text, "emdr", key)


def test_a_score_too_long_for_an_integer_is_implausible_not_a_crash() -> None:
    # Python refuses int() of more than 4,300 digits: that ValueError failed the whole draft,
    # and the job came back after every lease to fail the same way.
    digits = "9" * 5_000
    assert implausible_scores(f"PHQ-9 was {digits}") == ["PHQ-9 999999999999..."]
    draft = build_draft(f"PHQ-9 was {digits}.", "cbt", "soap")
    assert [f.code for f in draft.flags].count("implausible_score") == 1


def test_every_sentence_of_hostile_text_still_lands_once_with_its_span() -> None:
    text = "PHQ-9" + " " * 2_000 + "was 30. " + "Dr. " * 500 + "SUD was 7, then 2.\n\n" * 50
    draft = build_draft(text, "emdr", "birp")
    statements = [s for _, s in draft.statements()]
    assert [s.text for s in statements] == [s.text for s in split_sentences(text)]
    for statement in statements:
        (span,) = statement.provenance
        assert text[span.start : span.end] == span.text == statement.text

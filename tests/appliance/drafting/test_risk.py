"""Risk in clinicians' shorthand (issue 14): typed denials count as risk addressed and denied,
typed reports land in Risk as reported and are flagged for review, a history is neither."""

from __future__ import annotations

import pytest

from appliance.drafting.draft import RISK, Draft, build_draft
from appliance.drafting.risk import (
    RISK_REPORTED,
    is_risk_sentence,
    polarity_unclear,
    reported_risk,
)
from appliance.drafting.segment import Sentence

RISK_CODES = {"risk_not_addressed", "risk_polarity_unclear", RISK_REPORTED}
# A typed note's other lines, so that each case is a note and not a lone risk line.
BEFORE = "Pt c/o poor sleep x2 wks.\n"
AFTER = "\nF/u in 2 wks."


def _sentence(text: str) -> Sentence:
    return Sentence(0, 0, len(text), text)


def _risk_flags(draft: Draft) -> list[str]:
    return [f.code for f in draft.flags if f.code in RISK_CODES]


DENIALS = [
    "SI/HI denied",
    "denies SI/HI",
    "no SI",
    "-SI/-HI",
    "SI/HI neg",
    "denies SI, HI",
    "no SI/HI/AVH",
    "SI: denied",
    "Pt denies SI/HI.",
    "SI/HI: denied",
    "(-) SI/HI",
    "SI neg, HI neg",
    "Pt doesn't endorse SI or HI.",
    "No SI w/ plan or intent.",
    "C-SSRS neg",
    "CSSRS negative, denies SI",
]


@pytest.mark.parametrize("typed", DENIALS)
def test_a_typed_denial_addresses_risk_as_denied_and_is_never_read_as_reported(
    typed: str,
) -> None:
    assert is_risk_sentence(_sentence(typed))
    assert not polarity_unclear(typed)
    assert reported_risk(typed) == []
    draft = build_draft(f"{BEFORE}{typed}{AFTER}", "cbt", "soap")
    assert [s.text for s in draft.sections[RISK]] == [typed]
    assert RISK not in draft.placeholders
    assert _risk_flags(draft) == []


def test_si_hi_denied_never_raises_the_risk_not_addressed_flag_in_any_format() -> None:
    # The issue's own example.
    for note_format in ("soap", "dap", "birp", "girp"):
        draft = build_draft(f"{BEFORE}SI/HI denied{AFTER}", "integrative", note_format)
        assert "risk_not_addressed" not in [f.code for f in draft.flags]
        assert _risk_flags(draft) == []


REPORTS = [
    ("+SI", ["SI"]),
    ("+ SI", ["SI"]),
    ("passive SI", ["SI"]),
    ("pt reports SI w/o plan or intent", ["SI"]),
    ("SI w/ plan", ["SI"]),
    ("endorses SI", ["SI"]),
    ("+HI", ["HI"]),
    ("endorses HI", ["HI"]),
    ("HI w/ plan", ["HI"]),
    ("SI (+)", ["SI"]),
    ("Pt c/o passive SI, no plan.", ["SI"]),
    ("C-SSRS positive", ["C-SSRS"]),
    ("Pt reports suicidal ideation w/o plan.", ["suicidal ideation"]),
]


@pytest.mark.parametrize(("typed", "reported"), REPORTS)
def test_a_typed_report_lands_in_risk_as_reported_and_is_flagged_for_review(
    typed: str, reported: list[str]
) -> None:
    assert reported_risk(typed) == reported
    draft = build_draft(f"{BEFORE}{typed}{AFTER}", "cbt", "soap")
    [statement] = draft.sections[RISK]
    assert statement.text == typed
    flags = [f for f in draft.flags if f.code == RISK_REPORTED]
    assert [(f.section, f.statement) for f in flags] == [(RISK, statement.id)]
    assert all(term in flags[0].message for term in reported)
    assert "risk_not_addressed" not in [f.code for f in draft.flags]
    assert "risk_polarity_unclear" not in [f.code for f in draft.flags]


def test_plus_si_lands_in_risk_flagged_for_review_in_every_format() -> None:
    # The issue's own example.
    for note_format in ("soap", "dap", "birp", "girp"):
        draft = build_draft(f"{BEFORE}+SI{AFTER}", "integrative", note_format)
        assert [s.text for s in draft.sections[RISK]] == ["+SI"]
        assert _risk_flags(draft) == [RISK_REPORTED]


@pytest.mark.parametrize(
    ("typed", "reported"),
    [
        # The denial of one does not cover the report of the other, and "SI/HI denied" is
        # not "SI" reported.
        ("no SI but + HI", ["HI"]),
        ("no SI but +HI", ["HI"]),
        ("no SI but HI endorsed", ["HI"]),
        ("pt denies SI, endorses HI", ["HI"]),
        ("denies SI; endorses HI", ["HI"]),
        ("SI: none HI: endorsed", ["HI"]),
        ("endorses SI, HI denied", ["SI"]),
        ("Pt denies depression, reports SI", ["SI"]),
        ("SI/HI denied", []),
        ("-SI/+HI", ["HI"]),
        ("denies passive or active SI", []),
        ("Pt reports low mood, SI/HI denied", []),
        ("Pt doesn't report SI", []),
        ("no thoughts of self-harm", []),
    ],
)
def test_shorthand_traps_are_read_mention_by_mention(typed: str, reported: list[str]) -> None:
    assert reported_risk(typed) == reported
    assert not polarity_unclear(typed)


@pytest.mark.parametrize("typed", ["hx of SI", "h/o SI", "s/p suicide attempt 2019"])
def test_a_history_of_ideation_alone_is_not_reported_and_stays_flagged_as_unclear(
    typed: str,
) -> None:
    # As "History of SI" always was: in Risk, and flagged, since it says nothing about now.
    draft = build_draft(typed, "cbt", "soap")
    assert [s.text for s in draft.sections[RISK]] == [typed]
    assert _risk_flags(draft) == ["risk_polarity_unclear"]


@pytest.mark.parametrize(
    "typed", ["Hx of SI, denies current SI/HI", "Pt has a significant hx of SI; -SI today"]
)
def test_a_history_of_ideation_with_a_current_denial_raises_no_risk_flag(typed: str) -> None:
    draft = build_draft(typed, "cbt", "soap")
    assert [s.text for s in draft.sections[RISK]] == [typed]
    assert _risk_flags(draft) == []


def test_a_risk_screen_addresses_risk_without_a_flag_when_it_gives_no_result() -> None:
    draft = build_draft("C-SSRS completed, low risk.", "cbt", "soap")
    assert [s.text for s in draft.sections[RISK]] == ["C-SSRS completed, low risk."]
    assert _risk_flags(draft) == []


@pytest.mark.parametrize(
    "heard",
    [
        "SI",  # neither way
        "non-SI item",  # a hyphen inside a word is no denial
        "Pt and the eye SI/HI",  # "denies", misheard, as spoken notes have it
    ],
)
def test_shorthand_without_a_direction_is_still_unclear(heard: str) -> None:
    assert polarity_unclear(heard)
    assert reported_risk(heard) == []


@pytest.mark.parametrize(
    "heard",
    [
        # "denies ...", misheard: words a typed note uses for a report or a history must not
        # turn these into one (they stay blocking until checked).
        "The client dies active suicidal ideation.",
        "The client dies suicidal ideation at present.",
        "The client dies past or current suicidal ideation.",
    ],
)
def test_shorthand_words_that_speech_also_has_do_not_hide_a_misheard_denial(heard: str) -> None:
    draft = build_draft(heard, "cbt", "soap")
    assert _risk_flags(draft) == ["risk_polarity_unclear"]


# Passive ideation as clients say it, in the C-SSRS's own terms (a wish to be dead, to go to
# sleep and not wake up): no "suicidal" or "SI" in the sentence, still risk, still reported.
@pytest.mark.parametrize(
    "said",
    [
        "She said she sometimes wishes she were dead.",
        "Client wished he could go to sleep and not wake up.",
        "He told me that some days he wants to die.",
        "Pt states her family would be better off dead without her.",
        # The ways clinicians write down what clients said of it.
        "She said her family would be better off if she didn't wake up.",
        "He feels everyone would be better off without him.",
        "Client stated, I think they'd be better off without me.",
        "She reports there is no reason to live.",
        "He said life isn't worth living lately.",
        "She said she has nothing to live for.",
        "She doesn't want to be here anymore.",
        "He wouldn't mind if he didn't wake up.",
        "She is tired of living.",
        "He said it's not worth living like this.",
        "She wishes she had never been born.",
        "He has thoughts of not being around.",
        "She said the kids would be better off if she were gone.",
        "She had some thoughts like, it would be easier not to wake up, on Wednesday night.",
        "He said it would be easier if he just didn't wake up.",
        "She's had thoughts this week that it wouldn't matter if she just disappeared.",
        "He said it wouldn't matter if he died.",
    ],
)
def test_a_wish_to_be_dead_lands_in_risk_and_is_flagged_for_review(said: str) -> None:
    draft = build_draft(said, "integrative", "soap")
    assert [s.text for s in draft.sections[RISK]] == [said]
    assert [f.code for f in draft.flags] == ["risk_reported"]


@pytest.mark.parametrize(
    "said",
    [
        "Denies any wish to be dead.",
        "She denies wanting to die, and she denies SI.",
        "Denies thoughts that her family would be better off without her.",
        "She denies feeling there is no reason to live.",
        "He denied that life isn't worth living.",
    ],
)
def test_a_denied_wish_to_be_dead_addresses_risk_without_a_report(said: str) -> None:
    draft = build_draft(said, "integrative", "soap")
    assert [s.text for s in draft.sections[RISK]] == [said]
    assert draft.flags == []


@pytest.mark.parametrize(
    "said",
    [
        "She did not wake up during the night.",
        "She wishes she could see her sister more.",
        "The plant in her office died.",
        # Near misses: a partner left behind, a home, a panic attack's fear, a plan, a habit.
        "She is better off without him.",
        "He is better off without the job.",
        "She doesn't want to live with her mother.",
        "She wants to live closer to her sister.",
        "She reports thoughts of dying during panic attacks.",
        "She said the argument isn't worth it.",
        "She said life is worth living again.",
        "She didn't want to wake up early.",
        "She said it would be easier not to wake up so early for work.",
        "It wouldn't matter if he disappeared from the group chat for a week.",
        "Mornings are easier if she doesn't wake up to her alarm twice.",
        # "Cutting" that is not self-harm: a DBT goal, a habit, school.
        "Her goals remain cutting down on crisis calls and building a life worth living.",
        "He has been cutting back on drinking since the new year.",
        "She talked about cutting off contact with her cousin.",
        "He admitted to cutting class twice this week.",
        # A method's verb said of something else than harm.
        "He cut himself off from his friends after the move.",
        "She burned herself out at work before the leave.",
        "She had an urge to cut class on Friday.",
    ],
)
def test_sleep_and_other_wishes_are_not_risk(said: str) -> None:
    assert not is_risk_sentence(Sentence(0, 0, len(said), said))


@pytest.mark.parametrize(
    "said",
    [
        "She reports cutting on her forearm twice this week.",
        "He has been cutting again since the breakup.",
        "Urges to cutting were a 3 out of 5.",
    ],
)
def test_cutting_as_self_harm_is_still_risk(said: str) -> None:
    assert is_risk_sentence(_sentence(said))


@pytest.mark.parametrize(
    "said",
    [
        "She had urges to burn herself with a lighter on Sunday night.",
        "She had urges to cut, a four out of five at the peak.",
        "He scratched himself until he bled.",
        "She has been hitting herself when she is overwhelmed.",
    ],
)
def test_self_harm_said_by_its_method_is_risk(said: str) -> None:
    assert is_risk_sentence(_sentence(said))


# Shorthand said aloud, as Whisper base wrote it from a neural voice saying the letters
# ("S I slash H I denied", "minus S I"): still risk, still denied or reported.
@pytest.mark.parametrize(
    ("heard", "reported"),
    [
        ("S.I. slash H.I. denied, we practiced paced breathing.", []),
        ("Denies S.I. and H.I.", []),
        ("No SI slash HI.", []),
        ("Minus SI, minus HI.", []),
        ("She endorses passive S.I. without plan or intent.", ["S.I."]),
        ("Plus SI, passive, no plan.", ["SI"]),
        # Whisper's hyphens for the letters (a probe dictation spoken by Piper, stop 29).
        ("Minus s-i slash minus h-i this wk.", []),
        ("She endorses passive s-i without plan or intent.", ["s-i"]),
    ],
)
def test_spoken_shorthand_is_read_as_risk_with_its_polarity(
    heard: str, reported: list[str]
) -> None:
    assert is_risk_sentence(Sentence(0, 0, len(heard), heard))
    assert not polarity_unclear(heard)
    assert reported_risk(heard) == reported


@pytest.mark.parametrize(
    ("said", "reported"),
    [
        ("No self-injurious behavior since the last session.", []),
        ("Denies NSSI.", []),
        ("NSSI urges 2/5 this week.", ["NSSI"]),
        ("She reports self-injury twice this week.", ["self-injury"]),
    ],
)
def test_self_injury_and_nssi_are_risk_with_their_polarity(said: str, reported: list[str]) -> None:
    assert is_risk_sentence(_sentence(said))
    assert not polarity_unclear(said)
    assert reported_risk(said) == reported


# Harm said as a verb, and whom it is aimed at: found by dictations written for the purpose
# (not the evaluation sets), where a denial like the first was filed under Data and the draft
# said risk was not addressed.
@pytest.mark.parametrize(
    "said",
    [
        "She denies any thoughts of harming herself or her son.",
        "Both denied any thoughts of harming themselves or each other.",
        "No urges to hurt anyone this week.",
        "He denies thoughts of killing himself.",
    ],
)
def test_a_denied_thought_of_harming_oneself_or_others_addresses_risk(said: str) -> None:
    draft = build_draft(said, "integrative", "dap")
    assert [s.text for s in draft.sections[RISK]] == [said]
    assert draft.flags == []


@pytest.mark.parametrize(
    ("said", "reported"),
    [
        ("He has thoughts of killing himself most nights.", "killing himself"),
        ("She reported urges to hurt herself after the call.", "hurt herself"),
    ],
)
def test_a_reported_thought_of_harming_oneself_is_flagged_for_review(
    said: str, reported: str
) -> None:
    draft = build_draft(said, "integrative", "dap")
    assert [s.text for s in draft.sections[RISK]] == [said]
    assert [f.code for f in draft.flags] == [RISK_REPORTED]
    assert reported_risk(said) == [reported]


@pytest.mark.parametrize(
    "said",
    [
        "She hurt her back lifting boxes at work.",
        "He worried about hurting her feelings.",
        "The criticism really harmed their relationship.",
    ],
)
def test_harm_to_anything_but_a_person_is_not_risk(said: str) -> None:
    assert not is_risk_sentence(_sentence(said))


def test_a_client_saying_hi_to_a_part_is_no_risk_statement() -> None:
    said = "Her anxiety went from a six to a three. She noticed the guard and just said hi to it."
    draft = build_draft(said, "ifs", "girp")
    filed_in = [section for section, s in draft.statements() if "said hi" in s.text]
    assert filed_in and RISK not in filed_in


@pytest.mark.parametrize(
    "said",
    [
        "No safety concerns.",
        "No risk concerns today.",
        "No acute risk.",
        "Risk assessment completed, low risk.",
    ],
)
def test_the_clinicians_own_word_on_risk_addresses_it(said: str) -> None:
    for note_format in ("soap", "dap", "birp", "girp"):
        draft = build_draft(f"{BEFORE}{said}{AFTER}", "integrative", note_format)
        assert [s.text for s in draft.sections[RISK]] == [said]
        assert "risk_not_addressed" not in [f.code for f in draft.flags]
        assert _risk_flags(draft) == []


@pytest.mark.parametrize(
    "said",
    [
        "He disclosed that a part of him has had images of punching Gareth in the face.",
        "She has thoughts about killing her husband, no plan.",
        "He reports urges to hit him when they argue.",
    ],
)
def test_violent_thoughts_about_another_person_land_in_risk_and_are_flagged(said: str) -> None:
    draft = build_draft(said, "integrative", "soap")
    assert [s.text for s in draft.sections[RISK]] == [said]
    assert [f.code for f in draft.flags] == ["risk_reported"]


@pytest.mark.parametrize(
    "said",
    [
        "He had urges to hit the wall.",
        "She had thoughts of how to beat him at chess.",
        "He hit his head on the cupboard.",
    ],
)
def test_violence_not_thought_toward_a_person_is_no_risk(said: str) -> None:
    draft = build_draft(said, "integrative", "soap")
    assert draft.sections[RISK] == []


def test_denied_violent_thoughts_address_risk_without_a_review_flag() -> None:
    said = "Denies SI, thoughts of hurting him, or self-harm."
    draft = build_draft(said, "integrative", "soap")
    assert [s.text for s in draft.sections[RISK]] == [said]
    assert _risk_flags(draft) == []

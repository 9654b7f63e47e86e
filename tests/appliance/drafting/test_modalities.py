"""Modality fields hold values (issue 14): the number, the phrase, the term, or whether it was
done, each with the sentence and the characters it was read from, and nothing where nothing
was said."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from appliance.drafting.draft import Draft, build_draft
from appliance.drafting.modalities import (
    DONE,
    FIELDS,
    NOT_DONE,
    FieldValue,
    extract_fields,
    field_label,
)
from appliance.drafting.segment import Sentence, split_sentences
from appliance.records.dictations import MAX_TYPED
from tests.appliance.drafting.timing import fastest_run

# Whisper's comma-joined run-on for a natural voice (issue 14's example).
RUN_ON = (
    "Starting disturbance was a SUD of 7, negative cognition, I am not safe, positive cognition, "
    "I survived and I am safe now, validity of cognition started at 3 out of 7, after 8 sets of "
    "bilateral eye movements the SUD dropped to 2."
)


def _fields(modality: str, text: str) -> dict[str, list[FieldValue]]:
    return extract_fields(modality, split_sentences(text))


def _values(modality: str, text: str) -> dict[str, list[str]]:
    """Each field's values as the note shows them; only the filled fields."""
    return {k: [v.text for v in vs] for k, vs in _fields(modality, text).items() if vs}


def _said(text: str, value: FieldValue) -> str:
    assert value.start is not None and value.end is not None
    return text[value.start : value.end]


# Scales and phases: the value, not the sentence.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "SUD went from 7 to 2 and VOC rose from 3 to 6.",
            {"sud_start": "7", "sud_end": "2", "voc_start": "3", "voc_end": "6"},
        ),
        ("The starting SUD was 8 and the VOC was 2.", {"sud_start": "8", "voc_start": "2"}),
        ("At the end the SUD was 3 and the VOC was 5.", {"sud_end": "3", "voc_end": "5"}),
        ("The SUD started at seven and ended at two.", {"sud_start": "7", "sud_end": "2"}),
        ("SUD of 8, then dropped to three.", {"sud_start": "8", "sud_end": "3"}),
        ("The client rated the SUD at 1 afterward.", {"sud_end": "1"}),
        (
            "The SUD was 8 at the start and 3 at the end.",
            {"sud_start": "8", "sud_end": "3"},
        ),
        (
            "Subjective units of disturbance were at nine initially.",
            {"sud_start": "9"},
        ),
        # Where "it" went, later in the sentence that gave the start.
        (
            "Starting SUD was 8, and after twenty-two sets of eye movements it dropped to 2.",
            {"sud_start": "8", "sud_end": "2"},
        ),
        (
            "The VOC was 3 at first, and by the end of the session it rose to 6.",
            {"voc_start": "3", "voc_end": "6"},
        ),
        # ... but not when another measure was named in between: that "it" is the other's.
        ("The SUD was 7, the PCL-5 was 50 and it dropped to 40.", {"sud_start": "7"}),
        # The session's close, in clipped notes: "by close", "at session end".
        ("SUD seven at start. SUD five by close.", {"sud_start": "7", "sud_end": "5"}),
        ("SUD was 7 at the start and 2 by the close.", {"sud_start": "7", "sud_end": "2"}),
        ("VOC six at session end.", {"voc_end": "6"}),
        # Whisper's fused "SUD2", "VOC6", and a VOC pointing back to the cognition just said.
        (
            "SUD8 at start, SUD2 at end, VOC6 at end.",
            {"sud_start": "8", "sud_end": "2", "voc_end": "6"},
        ),
        ("PC I can protect myself, VOC on that was a 2 out of 7.", {"voc_start": "2"}),
    ],
)
def test_emdr_scales_hold_their_start_and_end_values(text: str, expected: dict[str, str]) -> None:
    got = _values("emdr", text)
    scales = {k: v[0] for k, v in got.items() if k.startswith(("sud", "voc"))}
    # VOC values keep the scale they were said with; compare the number.
    assert {k: v.split(" out of ")[0] for k, v in scales.items()} == expected


def test_a_second_unmarked_scale_value_is_not_taken_for_the_end() -> None:
    got = _values("emdr", "The SUD was 7. Later the SUD was 2.")
    assert got.get("sud_start") == ["7"] and "sud_end" not in got


@pytest.mark.parametrize(
    ("text", "phase"),
    [
        ("EMDR session 6, phase 4, desensitization.", "4"),
        ("We stayed in phase four today.", "4"),
        ("Phase 2 preparation continued. We agreed to begin phase 3 on April 2.", "2"),
    ],
)
def test_the_phase_is_the_number_of_the_phase_worked_in(text: str, phase: str) -> None:
    assert _values("emdr", text)["phase"] == [phase]


def test_a_phase_only_planned_or_out_of_range_is_left_empty() -> None:
    assert "phase" not in _values("emdr", "We will begin phase 3 next session.")
    assert "phase" not in _values("emdr", "The next phase of treatment starts soon.")
    assert "phase" not in _values("emdr", "We reviewed phase 12 of the workbook.")


# Cognitions and targets: the phrase, in the client's own words.


@pytest.mark.parametrize(
    ("text", "negative", "positive"),
    [
        (
            "The negative cognition was, I am powerless, and the positive cognition was, "
            "I can protect myself.",
            "I am powerless",
            "I can protect myself",
        ),
        (
            "The negative cognition was I am not good enough and the positive cognition was "
            "I am enough.",
            "I am not good enough",
            "I am enough",
        ),
        ('Negative belief: "it was my fault". Positive belief: "I did my best".', None, None),
    ],
)
def test_cognitions_hold_the_cognition_itself(
    text: str, negative: str | None, positive: str | None
) -> None:
    got = _values("emdr", text)
    if negative is None:  # quoted, after a colon
        assert got["negative_cognition"] == ["it was my fault"]
        assert got["positive_cognition"] == ["I did my best"]
    else:
        assert got["negative_cognition"] == [negative]
        assert got["positive_cognition"] == [positive]


def test_a_cognition_label_followed_by_the_clinicians_words_is_not_a_cognition() -> None:
    got = _values("emdr", "The negative cognition was identified and rated.")
    assert "negative_cognition" not in got


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("We were in phase 4 and targeted the car accident.", "the car accident"),
        (
            "Phase 4, desensitization of a memory of being bitten by a dog at age 9.",
            "being bitten by a dog at age 9",
        ),
        (
            "The target memory was the fire at the old house, with a SUD of 9.",
            "the fire at the old house",
        ),
        (
            "We continued phase four on the memory of the flood when the client was twelve.",
            "the flood when the client was twelve",
        ),
        (
            "We continued desensitization on the target memory of the ferry capsizing in 2019.",
            "the ferry capsizing in 2019",
        ),
        (
            "We reprocessed her memory of the night the alarm went off, with a SUD of 8.",
            "the night the alarm went off",
        ),
    ],
)
def test_the_target_holds_the_memorys_description(text: str, target: str) -> None:
    assert _values("emdr", text)["target"] == [target]


@pytest.mark.parametrize(
    "text",
    [
        "We agreed to begin phase 3 with the first target memory on April 2.",
        "We will pick the first target memory on Monday.",
        "Desensitization continued with 18 sets.",
        "The target was discussed.",
        # A label's comma followed by a clause, not a description.
        "Phase 3, target, she picked it herself after some thought.",
    ],
)
def test_a_target_named_for_later_or_only_talked_about_is_not_a_target(text: str) -> None:
    assert "target" not in _values("emdr", text)


# Numbers in words and digits.


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("The PHQ-9 was fourteen.", "phq_9", "14"),
        ("The PCL-5 was forty-seven.", "pcl_5", "47"),
        ("The PCL-5 was forty seven today.", "pcl_5", "47"),
        ("GAD 7 score of 9.", "gad_7", "9"),
        ("Her phq nine total was 21.", "phq_9", "21"),
        ("The GAD-7 came in at eleven.", "gad_7", "11"),
    ],
)
def test_numbers_in_words_and_digits_are_the_same_value(text: str, field: str, value: str) -> None:
    (found,) = _fields("integrative", text)[field]
    assert found.value == value


def test_a_scale_said_in_words_is_kept_with_the_value() -> None:
    (voc,) = _fields("emdr", "The VOC started at three out of seven.")["voc_start"]
    assert (voc.value, voc.out_of, voc.text) == ("3", "7", "3 out of 7")


# Measures every modality records.


@pytest.mark.parametrize("modality", sorted(FIELDS))
def test_every_modality_records_the_common_measures(modality: str) -> None:
    text = "The PHQ-9 was 11, down from 15 at intake, and the GAD-7 was 13."
    got = _fields(modality, text)
    (phq,) = got["phq_9"]
    assert (phq.value, phq.previous, phq.text) == ("11", "15", "11 (down from 15)")
    assert [v.value for v in got["gad_7"]] == ["13"]


def test_a_change_from_one_value_to_another_keeps_both() -> None:
    got = _fields("cbt", "PHQ-9 went from 15 to 11. The PCL-5 today was 47, up from 40.")
    assert [(v.value, v.previous) for v in got["phq_9"]] == [("11", "15")]
    assert [(v.value, v.previous) for v in got["pcl_5"]] == [("47", "40")]
    assert got["pcl_5"][0].text == "47 (up from 40)"


def test_an_earlier_value_counts_when_the_session_day_comes_between() -> None:
    got = _fields("cbt", "Her PHQ-9 was 9 today, down from 14 three weeks ago.")
    assert [(v.value, v.previous) for v in got["phq_9"]] == [("9", "14")]


def test_mood_and_anxiety_count_only_as_ratings_on_a_scale() -> None:
    text = (
        "Mood was 4 out of 10 and anxiety 6/10. "
        "The client rated anxiety before the last meeting at 8 out of 10. "
        "The anxiety came down within 3 minutes. Mood was better after 2 days."
    )
    got = _values("cbt", text)
    assert got["mood_rating"] == ["4 out of 10"]
    assert got["anxiety_rating"] == ["6 out of 10", "8 out of 10"]


def test_emdr_keeps_sud_and_voc_as_its_start_and_end_fields() -> None:
    assert "sud" not in FIELDS["emdr"] and "voc" not in FIELDS["emdr"]
    assert [v.value for v in _fields("cbt", "SUDS went from 80 to 40.")["sud"]] == ["80", "40"]


# A number is taken only when the words attach it to the measure.


@pytest.mark.parametrize(
    "text",
    [
        "We plan a follow-up PHQ-9 in four weeks.",
        "The SUD was one of the hardest parts to rate.",
        "After 8 sets the SUD was hard to read.",
        "The PHQ-9 form was given; 3 items were skipped.",
        "The SUD of the memory felt high, maybe 7.",
        "PHQ-9 at 10:30 on Monday.",
    ],
)
def test_a_number_not_attached_to_the_measure_is_not_taken(text: str) -> None:
    got = _values("emdr", text) | _values("cbt", text)
    assert not {k for k in got if k.startswith(("sud", "voc", "phq", "gad", "pcl"))}, got


# Run-ons: the labels mark the boundaries between the commas.


def test_a_comma_joined_run_on_gives_each_value() -> None:
    got = _values("emdr", RUN_ON)
    assert got == {
        "negative_cognition": ["I am not safe"],
        "positive_cognition": ["I survived and I am safe now"],
        "sud_start": ["7"],
        "sud_end": ["2"],
        "voc_start": ["3 out of 7"],
    }


def test_a_run_on_inside_a_longer_transcript_still_gives_each_value() -> None:
    text = (
        "EMDR session 3, phase four, we targeted the flood at the farm, "
        + RUN_ON[0].lower()
        + RUN_ON[1:-1]
        + ", we closed with the container exercise, the client left grounded."
    )
    got = _values("emdr", text)
    assert got["phase"] == ["4"] and got["target"] == ["the flood at the farm"]
    assert (got["sud_start"], got["sud_end"]) == (["7"], ["2"])
    assert got["negative_cognition"] == ["I am not safe"]
    assert got["positive_cognition"] == ["I survived and I am safe now"]


# Negation: recorded as not done, never as done.


@pytest.mark.parametrize(
    ("modality", "text", "field"),
    [
        ("ifs", "There was no unburdening yet.", "unburdening"),
        ("ifs", "The client was unable to unblend today.", "unblending"),
        ("emdr", "We did not get to the target today.", "target"),
        ("emdr", "We did not identify a negative cognition.", "negative_cognition"),
        ("cbt", "No homework was assigned this week.", "homework"),
        ("dbt", "We didn't do a chain analysis.", "chain_analysis"),
    ],
)
def test_a_negated_field_is_recorded_as_not_done(modality: str, text: str, field: str) -> None:
    (value,) = _fields(modality, text)[field]
    assert value.status == NOT_DONE and value.text == "not done"
    assert _said(text, value).split()[0].lower() in {"no", "not", "unable", "didn't"}


def test_a_negated_term_is_listed_as_not_done() -> None:
    (value,) = _fields("cbt", "We did not do exposure this week.")["interventions"]
    assert (value.value, value.status, value.text) == ("exposure", NOT_DONE, "exposure (not done)")
    skills = _fields(
        "dbt", "We used wise mind; the client didn't use the radical acceptance skill."
    )
    assert [(v.value, v.status) for v in skills["skills_used"]] == [
        ("radical acceptance", NOT_DONE),
        ("wise mind", DONE),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "The behavioral experiment we had lined up for today, calling his old bowling partner "
        "from the office, was not done because we ran short on time.",
        "The behavioral experiment wasn't completed.",
        "We ran out of time, no time for the behavioral experiment.",
    ],
)
def test_a_term_said_not_to_have_happened_is_not_done(text: str) -> None:
    (value,) = _fields("cbt", text)["interventions"]
    assert (value.value, value.status) == ("behavioral experiment", NOT_DONE)


def test_a_negation_after_a_term_in_another_clause_is_not_the_terms() -> None:
    got = _fields("cbt", "Reviewed the thought record, and exposure was not done.")
    assert [(v.value, v.status) for v in got["interventions"]] == [
        ("thought record", DONE),
        ("exposure", NOT_DONE),
    ]
    which = _fields("cbt", "Exposure, which was not done last week, went well today.")
    assert [(v.value, v.status) for v in which["interventions"]] == [("exposure", DONE)]


def test_a_part_that_agreed_to_unblend_unblended() -> None:
    text = "The manager agreed to unblend, and she then reported feeling about 70 percent Self."
    assert _values("ifs", text)["unblending"] == ["done"]
    # The client or the clinician agreeing to it is a plan.
    assert "unblending" not in _values("ifs", "We agreed to unblend from the critic next time.")


def test_a_term_named_in_the_singular_or_by_its_verb_is_found() -> None:
    text = "He recognized it as all-or-nothing thinking and as a should statement."
    assert _values("cbt", text)["cognitive_distortions"] == ["all-or-nothing", "should statements"]
    defenses = "Defenses were projection, in the argument, and minimizing, in the opening."
    assert _values("psychodynamic", defenses)["defenses"] == ["projection", "minimization"]


def test_a_term_after_a_negated_verb_of_its_own_is_not_negated() -> None:
    got = _fields("ifs", "We did not unburden the exile today; the exile is still waiting.")
    assert [(v.value, v.status) for v in got["parts"]] == [("exile", DONE)]
    assert [v.status for v in got["unburdening"]] == [NOT_DONE]


def test_a_negation_belongs_to_its_own_clause() -> None:
    ifs = _fields("ifs", "The client could not unblend from the manager.")
    assert [(v.value, v.status) for v in ifs["parts"]] == [("manager", DONE)]
    assert [v.status for v in ifs["unblending"]] == [NOT_DONE]
    emdr = _fields("emdr", RUN_ON)  # "I am not safe" negates nothing after it
    assert all(v.status == DONE for values in emdr.values() for v in values)


def test_events_that_were_done_say_so_and_planned_ones_are_left_out() -> None:
    got = _values("ifs", "The client unblended from the firefighter, and it was unburdened.")
    assert got["unblending"] == ["done"] and got["unburdening"] == ["done"]
    assert "unburdening" not in _values("ifs", "Next session we will try to unburden the exile.")


def test_self_energy_holds_its_percentage_or_that_it_was_present() -> None:
    text = "The client was able to unblend with about sixty percent Self-energy."
    (value,) = _fields("ifs", text)["self_energy"]
    assert value.value == "60%" and _said(text, value) == "sixty percent"
    assert _values("ifs", "More Self was present.")["self_energy"] == ["present"]
    # The client's own estimate, said just after the word.
    text = "When I checked for Self-energy she said she felt about sixty percent, calm and curious."
    (value,) = _fields("ifs", text)["self_energy"]
    assert value.value == "60%" and _said(text, value) == "sixty percent"
    assert "self_energy" not in _values("ifs", "Self-harm urges were low.")


# Term lists and free text.


def test_terms_match_plurals_and_either_spelling_once_each() -> None:
    text = "We reviewed two thought records and named all or nothing thinking. A thought record."
    got = _values("cbt", text)
    assert got["interventions"] == ["thought record"]
    assert got["cognitive_distortions"] == ["all-or-nothing"]


def test_skill_acronyms_that_are_plain_words_count_only_in_capitals() -> None:
    text = "We practiced STOP. The client wanted to give up and stop fast food."
    assert _values("dbt", text)["skills_used"] == ["STOP"]


def test_the_name_of_the_therapy_is_not_the_process_of_acceptance() -> None:
    text = "Acceptance and commitment therapy, session 5. We worked on defusion."
    assert _values("act", text)["hexaflex_processes"] == ["defusion"]


# Whisper and keyboards write these terms so; in the modality's note they mean only the term.
@pytest.mark.parametrize(
    ("modality", "text", "field", "term", "written"),
    [
        (
            "act",
            "We practiced cognitive diffusion by singing the thought.",
            "hexaflex_processes",
            "defusion",
            "diffusion",
        ),
        (
            "psychodynamic",
            "I wondered whether isolation of effect keeps the sting away.",
            "defenses",
            "isolation of affect",
            "isolation of effect",
        ),
        # A part named by what it does, a distortion by its verb.
        ("ifs", "A protective part showed up at once.", "parts", "protector", "protective part"),
        ("ifs", "We met an exiled part that holds loneliness.", "parts", "exile", "exiled part"),
        (
            "ifs",
            "A firefighting part urges her to binge.",
            "parts",
            "firefighter",
            "firefighting part",
        ),
        (
            "cbt",
            "She catastrophized about the test.",
            "cognitive_distortions",
            "catastrophizing",
            "catastrophized",
        ),
    ],
)
def test_a_term_as_whisper_writes_it_is_the_term_citing_what_was_written(
    modality: str, text: str, field: str, term: str, written: str
) -> None:
    (found,) = _fields(modality, text)[field]
    assert (found.value, _said(text, found)) == (term, written)


@pytest.mark.parametrize(
    ("modality", "text", "field", "value"),
    [
        (
            "cbt",
            "Homework is two thought records and one behavioral experiment.",
            "homework",
            "two thought records and one behavioral experiment",
        ),
        (
            "cbt",
            "For homework, the client agreed to ask one question in the meeting.",
            "homework",
            "the client agreed to ask one question in the meeting",
        ),
        ("cbt", "We reviewed the homework.", "homework", "We reviewed the homework."),
        (
            "dbt",
            "The diary card showed anger rated 5 out of 5 on Saturday.",
            "diary_card_targets",
            "anger rated 5 out of 5 on Saturday",
        ),
        (
            "act",
            "In values work the client named independence and friendship as top values.",
            "values",
            "independence and friendship",
        ),
        (
            "act",
            "She identified her values as honesty and being a good aunt.",
            "values",
            "honesty and being a good aunt",
        ),
        (
            "act",
            "He said what matters most to him is family and making things.",
            "values",
            "family and making things",
        ),
        (
            "dbt",
            "We reviewed her diary card: urges to use at 3 of 5 on two days, no use.",
            "diary_card_targets",
            "urges to use at 3 of 5 on two days, no use",
        ),
        (
            "dbt",
            "The chain analysis focused on the fight with her roommate on Tuesday.",
            "chain_analysis",
            "the fight with her roommate on Tuesday",
        ),
        (
            "act",
            "For committed action, the client will garden for 20 minutes.",
            "committed_action",
            "the client will garden for 20 minutes",
        ),
        (
            "psychodynamic",
            "The goal is to understand the pattern of choosing distant partners.",
            "themes",
            "choosing distant partners",
        ),
        (
            "psychodynamic",
            "His detachment is starting to crack, and the theme underneath it is longing for "
            "his father's recognition.",
            "themes",
            "longing for his father's recognition",
        ),
        (
            "psychodynamic",
            "We returned several times to a familiar theme, his fear that any display of need "
            "will be met with contempt.",
            "themes",
            "his fear that any display of need will be met with contempt",
        ),
        (
            "psychodynamic",
            "I noted a transference pattern, since the client expected me to take sides.",
            "transference",
            "the client expected me to take sides",
        ),
    ],
)
def test_free_text_fields_keep_the_words_after_their_label(
    modality: str, text: str, field: str, value: str
) -> None:
    assert _values(modality, text)[field] == [value]


def test_a_field_word_without_its_link_fills_nothing() -> None:
    got = _values("dbt", "Homework is to fill in the diary card and use TIPP.")
    assert "diary_card_targets" not in got and got["skills_used"] == ["TIPP"]
    assert "themes" not in _values("psychodynamic", "I noted a transference pattern, since then.")
    # A name in the middle of a sentence: where it ends is a guess, so none is made.
    assert "themes" not in _values("psychodynamic", "A recurring theme, abandonment, ran through.")


# Typed shorthand (issue 14): understood, never rewritten.


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("HW: thought record daily", "thought record daily"),
        ("HW - TR daily.", "TR daily"),
        (
            "Pt agreed to HW: behavioral activation, walk 3x this wk.",
            "behavioral activation, walk 3x this wk",
        ),
    ],
)
def test_typed_hw_fills_cbt_homework_with_the_clinicians_own_words(text: str, value: str) -> None:
    (homework,) = _fields("cbt", text)["homework"]
    assert homework.value == value and _said(text, homework) == value


def test_typed_no_hw_is_recorded_as_not_done() -> None:
    (homework,) = _fields("cbt", "No HW assigned this wk.")["homework"]
    assert homework.status == NOT_DONE


SHORTHAND_NOTE = (
    "Pt c/o poor sleep x2 wks.\nHx of panic attacks.\nDx: MDD, recurrent.\n"
    "Pt reports feeling better, pt. agreeable to plan.\nSI/HI denied.\nF/u in 2 wks.\nRTC 1 wk."
)


@pytest.mark.parametrize("modality", sorted(FIELDS))
def test_shorthand_that_names_no_field_fills_none(modality: str) -> None:
    # "pt" is not a part, "Pt" at a line's start not Self, "HW" absent means no homework.
    assert _values(modality, SHORTHAND_NOTE) == {}


@pytest.mark.parametrize(
    "text", ["F/u in 2 wks for phase 4.", "RTC in 1 wk for phase 5.", "Next wk phase 4."]
)
def test_a_phase_typed_for_follow_up_is_a_plan_not_this_sessions_phase(text: str) -> None:
    assert "phase" not in _values("emdr", text)


# Absent fields stay empty; provenance points at the sentence and the words.


@pytest.mark.parametrize("modality", sorted(FIELDS))
def test_fields_the_dictation_does_not_mention_stay_empty(modality: str) -> None:
    text = "Client reported a calm week. We talked about work and sleep. Next session Monday."
    assert all(values == [] for values in _fields(modality, text).values())


def test_each_value_cites_its_sentence_and_the_words_it_was_read_from() -> None:
    text = (
        "EMDR session 6, phase four. The client arrived early. "
        "The negative cognition was, I am powerless. The SUD started at seven and dropped to two."
    )
    sentences = split_sentences(text)
    got = extract_fields("emdr", sentences)
    expected = {
        "phase": (0, "four", "4"),
        "negative_cognition": (2, "I am powerless", "I am powerless"),
        "sud_start": (3, "seven", "7"),
        "sud_end": (3, "two", "2"),
    }
    for field, (index, words, value) in expected.items():
        (found,) = got[field]
        assert (found.sentence, _said(text, found), found.value) == (index, words, value)
        sentence = sentences[index]
        assert sentence.start <= found.start <= found.end <= sentence.end  # type: ignore[operator]


def test_a_run_on_value_cites_its_own_words_within_the_long_sentence() -> None:
    got = _fields("emdr", RUN_ON)
    assert _said(RUN_ON, got["sud_end"][0]) == "2"
    assert RUN_ON[: got["sud_end"][0].end].endswith("the SUD dropped to 2")
    assert _said(RUN_ON, got["voc_start"][0]) == "3"
    assert RUN_ON[: got["voc_start"][0].end].endswith("validity of cognition started at 3")


# Stored drafts and labels.


def test_a_draft_with_values_survives_its_json_and_old_values_still_read() -> None:
    draft = build_draft(RUN_ON, "emdr", "soap")
    assert Draft.from_json(json.loads(json.dumps(draft.as_json()))).fields == draft.fields
    old = FieldValue.from_json({"value": "Phase 4 desensitization.", "sentence": 0})
    assert (old.start, old.status, old.text) == (None, DONE, "Phase 4 desensitization.")
    assert FieldValue.from_json(asdict(draft.fields["sud_end"][0])) == draft.fields["sud_end"][0]


def test_fields_have_labels_a_clinician_reads() -> None:
    assert [field_label(n) for n in ("phq_9", "sud_start", "negative_cognition")] == [
        "PHQ-9",
        "SUD start",
        "Negative cognition",
    ]


# Hostile input: each field trigger repeated to the typed-note limit stays fast (the regex of
# the old _scale took 16 s on "SUD " repeated; see also test_adversarial_input.py).

TRIGGERS = (
    "SUD 7 ",
    "SUD of 8, then dropped to ",
    "negative cognition was, I ",
    "and the positive cognition ",
    "targeted the ",
    "a memory of ",
    "phase 4 ",
    "named x ",
    "Homework is ",
    "HW: ",
    "diary card showed ",
    "theme of ",
    "transference pattern, since ",
    "no unburdening ",
    "60 percent Self ",
    "rated anxiety ",
    "at 5 out of ",
    "forty-",
    "on the memory of ",
    "did not use the ",
    "came in at ",
    "at the start and ",
    "will ",
    "at intake it was ",
    "last time it was ",
    "PHQ-9 was 9. At intake it was ",
    "rated the memory a ",
    "the belief she'd like to have is ",
    "values. She named ",
    "named a, b, ",
)


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_field_extraction_stays_fast_on_a_repeated_trigger(trigger: str) -> None:
    text = (trigger * (MAX_TYPED // len(trigger) + 1))[:MAX_TYPED]
    # As the segmenter splits it, and as one typed line: one sentence of 50,000 characters.
    for sentences in (split_sentences(text), [Sentence(0, 0, len(text), text)]):
        for modality in FIELDS:
            took = fastest_run(1.0, extract_fields, modality, sentences)
            assert took < 1.0, f"{modality} on {trigger!r}: {took:.2f} s"


# EMDR said the ways a dictation lists it (written for these tests).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The positive cognition she chose was, I can keep myself safe.",
            {"positive_cognition": ["I can keep myself safe"]},
        ),
        (
            "The negative belief is, it's my fault, and the preferred belief is, I did my best.",
            {"negative_cognition": ["it's my fault"], "positive_cognition": ["I did my best"]},
        ),
        (
            "We are in phase four, reprocessing the target of the night the shed burned down.",
            {"phase": ["4"], "target": ["the night the shed burned down"]},
        ),
        (
            "The disturbance started at a seven and by the end of the session it was a three.",
            {"sud_start": ["7"], "sud_end": ["3"]},
        ),
        (
            "Validity of cognition, two. Subjective units of disturbance, eight, in the chest.",
            {"voc_start": ["2"], "sud_start": ["8"]},
        ),
        (
            "We ran out of time before desensitization, so phase four begins next week.",
            {},
        ),
        ("Sleep disturbance was 3 nights this week.", {}),
    ],
)
def test_emdr_fields_said_as_a_dictation_lists_them(
    text: str, expected: dict[str, list[str]]
) -> None:
    got = _values("emdr", text)
    assert {k: [v.split(" out of ")[0] for v in values] for k, values in got.items()} == expected


def test_a_comma_links_a_score_only_when_the_score_ends_the_clause() -> None:
    assert "phq_9" not in _values("cbt", "We went over the PHQ-9, 2 weeks ago, with her.")
    assert _values("cbt", "PHQ-9, 14, GAD-7, 9.") == {"phq_9": ["14"], "gad_7": ["9"]}


# The measures as clinicians also say them (written for these tests).
@pytest.mark.parametrize(
    ("text", "field", "value", "previous"),
    [
        ("She scored 14 on the PHQ-9.", "phq_9", "14", None),
        ("A score of forty-one on the PCL-5 today.", "pcl_5", "41", None),
        ("Her PHQ-9 came back at 12.", "phq_9", "12", None),
        ("She completed the GAD-7 and scored 16.", "gad_7", "16", None),
        ("PHQ-9 was 12 compared with 18 last month.", "phq_9", "12", "18"),
        ("GAD-7 score today is 11, previously 15.", "gad_7", "11", "15"),
    ],
)
def test_a_measure_said_another_way_keeps_its_value(
    text: str, field: str, value: str, previous: str | None
) -> None:
    (found,) = _fields("integrative", text)[field]
    assert (found.value, found.previous) == (value, previous)
    assert text[found.start : found.end] in (value, "forty-one")


def test_a_score_on_something_else_is_not_the_measures() -> None:
    assert "phq_9" not in _values("cbt", "She scored 14 on the quiz; the PHQ-9 is due next week.")


# Found by more dictations written for the purpose (not the evaluation sets); the sentences here
# are written for these tests.
@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("His GAD-7 on the group check-in form was 13.", "gad_7", "13"),
        ("The PCL-5 she filled out in the waiting room came in at 41.", "pcl_5", "41"),
    ],
)
def test_a_questionnaire_said_where_it_was_taken_keeps_its_value(
    text: str, field: str, value: str
) -> None:
    (found,) = _fields("integrative", text)[field]
    assert _said(text, found) == value


@pytest.mark.parametrize(
    "text",
    [
        "The PHQ-9 she did at intake was 20.",
        "The GAD-7 and the intake forms were 3 pages.",
        "The PHQ-9 we give every 4 weeks was skipped.",
    ],
)
def test_a_questionnaire_gap_that_names_another_time_or_number_takes_nothing(text: str) -> None:
    got = _values("integrative", text)
    assert not {k for k in got if k in ("phq_9", "gad_7", "pcl_5")}, got


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        (
            "She said the anxiety has been constant, about an eight out of ten most days.",
            "anxiety_rating",
            "8",
        ),
        ("Her mood has been low, a four out of ten.", "mood_rating", "4"),
    ],
)
def test_a_rating_described_before_its_number_is_kept(text: str, field: str, value: str) -> None:
    (found,) = _fields("integrative", text)[field]
    assert (found.value, found.out_of) == (value, "10")


@pytest.mark.parametrize(
    "text",
    [
        "Her anxiety is lower, sleep about 5 out of 10.",
        "The anxiety came down, and she put her energy at 6 out of 10.",
        "Her anxiety was high after 3 sessions.",
        # A count, a time, or past the scale's end, though said the short way of a rating.
        "Her anxiety dropped to 2 days a week.",
        "Anxiety 2 weeks ago was worse.",
        "Her mood was a 12 on some scale she made up.",
    ],
)
def test_a_rating_of_something_else_after_mood_or_anxiety_is_not_theirs(text: str) -> None:
    got = _values("integrative", text)
    assert "anxiety_rating" not in got and "mood_rating" not in got, got


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("PHQ-9 was 16 today, it was nineteen when we started in March.", "19"),
        ("PHQ-9 was 16 today, it was 22 at intake.", "22"),
        # Without "it", in a clinician's shorthand, and as Whisper writes "=" and "12 two".
        ("PHQ-9 = 16 today, was 12 two wks ago.", "12"),
        ("PHQ-9 equals 16 today, was 12-2 WKS ago.", "12"),
        # Typed shorthand, and an aside before how it changed.
        ("PHQ-9 16, prev 12.", "12"),
        ("PHQ-9 16 (prev 12).", "12"),
        ("PHQ-9 16 (intake 12).", "12"),
        ("PHQ-9 came in at sixteen, and that's up from twelve when we started.", "12"),
        ("PHQ-9 was sixteen, which is actually up from twelve a month ago.", "12"),
    ],
)
def test_an_earlier_score_said_after_the_value_is_the_previous_value(
    text: str, previous: str
) -> None:
    (found,) = _fields("integrative", text)["phq_9"]
    assert (found.value, found.previous) == ("16", previous)


def test_a_score_after_an_aside_about_it_is_read() -> None:
    text = "Miriam's PHQ-9, which she chose to share with the group, was 9, down from 16."
    (found,) = _fields("integrative", text)["phq_9"]
    assert (found.value, found.previous) == ("9", "16")
    assert "phq_9" not in _values("integrative", "The PHQ-9, which she skipped, is due in 2 weeks.")


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("SUD when he held the image was eight out of ten.", "sud_start", "8"),
        ("Starting SUD 8, SUD when we stopped was 2.", "sud_end", "2"),
    ],
)
def test_a_sud_said_with_when_it_was_taken_is_read(text: str, field: str, value: str) -> None:
    assert _values("emdr", text)[field] == [value]


def test_a_sud_after_a_long_when_clause_is_not_guessed() -> None:
    got = _values("emdr", "SUD when she first brought up the image in her mind was 7.")
    assert "sud_start" not in got and "sud_end" not in got


@pytest.mark.parametrize(
    "text",
    [
        "PHQ-9 was 16 today, it was hard for her to finish it.",
        "PHQ-9 16, was done in the waiting room.",
        "PHQ-9 16, was 2 minutes late to the session.",
        "PHQ-9 16 (done in the lobby), 12 minutes late.",
        "PHQ-9 16, and that's why we talked about 12 steps.",
    ],
)
def test_a_second_score_without_an_earlier_time_is_no_previous_value(text: str) -> None:
    got = _fields("integrative", text)
    assert [(v.value, v.previous) for v in got["phq_9"]] == [("16", None)]


def test_diary_card_targets_said_with_their_week_are_kept() -> None:
    text = "Her diary card targets this week were drinking, urges to drink, and isolating."
    assert _values("dbt", text)["diary_card_targets"] == ["drinking, urges to drink, and isolating"]


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        # Whisper's "we're" for "were", and a list after the label with its colon heard as a
        # comma (found in the stop-25 probe dictations spoken by Piper).
        (
            "Her diary card targets this week we're skipping meals and purging.",
            "skipping meals and purging",
        ),
        # ... and its "where" (probe set F, 2026-11-29).
        (
            "Um, diary card targets this week where anger outbursts, drinking, and isolating.",
            "anger outbursts, drinking, and isolating",
        ),
        (
            "DBT, 50 minutes, diary card targets, urges to quit, spending, and poor sleep.",
            "urges to quit, spending, and poor sleep",
        ),
    ],
)
def test_diary_card_targets_as_whisper_writes_them_are_kept(text: str, targets: str) -> None:
    assert _values("dbt", text)["diary_card_targets"] == [targets]


def test_an_aside_after_the_diary_card_targets_is_not_taken_for_them() -> None:
    text = "The diary card targets, which she set last month, still fit."
    assert "diary_card_targets" not in _values("dbt", text)


def test_a_positive_cognition_rated_without_naming_the_voc_is_its_validity() -> None:
    text = (
        "Her positive cognition is I can learn and I'm capable, and she rated that a two at the "
        "start, so it doesn't feel very true yet."
    )
    got = _values("emdr", text)
    assert got["voc_start"] == ["2"]
    assert "voc_end" not in got


# Found by speaking sixteen dictations written for the purpose (not the evaluation sets) with
# Piper and reading what was missed; the sentences here are written for these tests.
@pytest.mark.parametrize(
    ("text", "field", "value", "previous"),
    [
        ("PHQ-9 was 16 today, at intake it was 21.", "phq_9", "16", "21"),
        ("GAD-7 today was 9, at intake back in June it was 17.", "gad_7", "9", "17"),
        ("Her GAD-7 was twelve, last time it was fourteen.", "gad_7", "12", "14"),
        ("PHQ-9 was 18, basically unchanged from 19 in May.", "phq_9", "18", "19"),
        ("She puts her mood as about a five out of ten, up from a three.", "mood_rating", "5", "3"),
        ("SUDs at the start were an eight.", "sud", "8", None),
        # Whisper's "an eight" and a sentence ended at the pause before the earlier value.
        ("Her SUDs were in 6.", "sud", "6", None),
        ("PHQ-9 was 13 today. At intake it was 20.", "phq_9", "13", "20"),
        ("Her GAD-7 was 10. Last time it was eleven.", "gad_7", "10", "11"),
        # Found the same way in twenty more written at stop 25: Whisper's comma after the
        # earlier time, its "out from" for "down from", and a rating's time said between.
        ("PHQ-9 was 15 today. At intake, it was 21.", "phq_9", "15", "21"),
        ("PHQ-9 today was 12, out from 19 at intake.", "phq_9", "12", "19"),
        (
            "She rated her anxiety a 4 out of 10 at the end, down from a 7 when she came in.",
            "anxiety_rating",
            "4",
            "7",
        ),
    ],
)
def test_an_earlier_score_said_as_clinicians_say_it_is_the_previous_value(
    text: str, field: str, value: str, previous: str | None
) -> None:
    (found,) = _fields("integrative", text)[field]
    assert (found.value, found.previous) == (value, previous)


# Found by speaking twenty more dictations written at stop 25 with Piper (sentences rewritten
# here). The development set's labels give a rating that moved within the session as two
# readings ("SUD went from 70 to 35": 70 and 35), not as a value with an earlier one.
@pytest.mark.parametrize(
    ("text", "field", "values"),
    [
        ("During the exposure his SUDs went from an eight down to a five.", "sud", ["8", "5"]),
        ("During the straw breathing her SUD peaked at seventy.", "sud", ["70"]),
        ("His mood went from a two to a four out of ten by the end.", "mood_rating", ["2", "4"]),
        ("Mood he rated a 4 out of 10 coming in and a six by the end.", "mood_rating", ["4", "6"]),
        (
            "He rated his anxiety a 7 out of 10 at check-in and a five at checkout.",
            "anxiety_rating",
            ["7", "5"],
        ),
        (
            "Her anxiety was a nine out of ten when she started talking and was about a six by "
            "the end.",
            "anxiety_rating",
            ["9", "6"],
        ),
    ],
)
def test_a_rating_that_moved_within_the_session_is_two_readings(
    text: str, field: str, values: list[str]
) -> None:
    found = _fields("integrative", text)[field]
    assert [(v.value, v.previous) for v in found] == [(v, None) for v in values]


def test_a_questionnaire_that_went_from_one_score_to_another_keeps_the_first_as_previous() -> None:
    # A questionnaire is scored once a session: its first score is an earlier session's.
    (found,) = _fields("integrative", "Her PHQ-9 went from 19 to 12.")["phq_9"]
    assert (found.value, found.previous) == ("12", "19")


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        # The VOC said with the belief it rates.
        ("VOC on the positive cognition was a two at the start.", "voc_start", "2"),
        ("The VOC for the PC was 4 at the start, and the SUD was 6.", "voc_start", "4"),
        # The scale named without a number, then where "it" went.
        (
            "We ran out of time for installation, but I checked the VOC at the end and it had "
            "come up to a five.",
            "voc_end",
            "5",
        ),
    ],
)
def test_a_voc_said_with_its_belief_or_said_of_it_is_read(
    text: str, field: str, value: str
) -> None:
    assert [v.value for v in _fields("emdr", text)[field]] == [value]


def test_a_target_pointed_back_to_is_the_description_after_it() -> None:
    text = (
        "We stayed in phase four on the target we chose last session, the dog attack in the "
        "park when he was eight."
    )
    assert _values("emdr", text)["target"] == ["the dog attack in the park when he was eight"]


def test_countertransference_said_with_as_well_before_its_link_is_its_content() -> None:
    text = "I noticed some countertransference too, since I felt bored and wanted to rescue him."
    assert _values("psychodynamic", text)["countertransference"] == [
        "I felt bored and wanted to rescue him"
    ]


def test_pros_and_cons_and_urge_surfing_are_dbt_skills() -> None:
    text = "We did pros and cons on calling in sick, and she practiced urge surfing."
    assert _values("dbt", text)["skills_used"] == ["pros and cons", "urge surfing"]


@pytest.mark.parametrize(
    "text",
    [
        "PHQ-9 was 14. Last week it was 3 panic attacks.",
        "PHQ-9 was 14 today. Last week she had 2 panic attacks.",
        "PHQ-9 was 14, at intake she had 3 panic attacks a week.",
        "PHQ-9 was 14 today. At intake the GAD-7 was 15.",
        "PHQ-9 was 14, aside from 2 weeks ago.",
        "PHQ-9 was 14 today, apart from 3 items at intake she skipped.",
    ],
)
def test_a_number_after_a_score_that_is_no_earlier_score_is_not_taken(text: str) -> None:
    (found,) = _fields("integrative", text)["phq_9"]
    assert (found.value, found.previous) == ("14", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Her negative cognition remains I'm unlovable, and the belief she'd like to have is "
            "I am worthy of love.",
            {
                "negative_cognition": ["I'm unlovable"],
                "positive_cognition": ["I am worthy of love"],
            },
        ),
        (
            "The negative belief that goes with it is I'm trapped.",
            {"negative_cognition": ["I'm trapped"]},
        ),
        (
            "She rated the memory a six out of ten at the start and it came down to a one by the "
            "end of the session.",
            {"sud_start": ["6"], "sud_end": ["1"]},
        ),
        (
            "VOC was a 2 at the start and a 6 when we checked it at the end.",
            {"voc_start": ["2"], "voc_end": ["6"]},
        ),
        # Whisper's "and the 6" for "and a 6".
        (
            "VOC was a 2 at the start and the 6 when we checked at the end.",
            {"voc_start": ["2"], "voc_end": ["6"]},
        ),
        (
            "We picked up the target from last week, which is being shut in the garden shed in "
            "the snow at seven years old while her parents argued inside about who would go.",
            {
                "target": [
                    "being shut in the garden shed in the snow at seven years old while her "
                    "parents argued inside about who would go"
                ]
            },
        ),
        # Another session's value is no start of this one.
        ("At the end the SUD was 2, last session it was 5.", {"sud_end": ["2"]}),
        # A second value with no end marker near it is not the end.
        ("SUD was 8 at the start and 6 and then we stopped at the end.", {"sud_start": ["8"]}),
    ],
)
def test_emdr_fields_said_in_a_clinicians_own_words(
    text: str, expected: dict[str, list[str]]
) -> None:
    got = _values("emdr", text)
    assert {k: [v.split(" out of ")[0] for v in values] for k, values in got.items()} == expected


@pytest.mark.parametrize(
    ("modality", "text", "field", "value"),
    [
        (
            "dbt",
            "We reviewed her diary card, which showed shame at a three and no urges to use.",
            "diary_card_targets",
            "shame at a three and no urges to use",
        ),
        (
            "dbt",
            "We did a chain analysis of Monday, when he skipped class and spent the day in bed.",
            "chain_analysis",
            "Monday, when he skipped class and spent the day in bed",
        ),
        (
            "act",
            "His committed action for the week is to call his brother on Thursday.",
            "committed_action",
            "call his brother on Thursday",
        ),
        (
            "act",
            "She committed to swimming twice this week, and we'll review it next time.",
            "committed_action",
            "swimming twice this week",
        ),
        (
            "act",
            "She committed to swimming twice this week we'll review it next time.",
            "committed_action",
            "swimming twice this week",
        ),
        # The label said with a pause that Whisper wrote as a full stop.
        (
            "act",
            "Okay, plan for committed action. She will walk the park loop on Saturday morning.",
            "committed_action",
            "She will walk the park loop on Saturday morning",
        ),
        (
            "act",
            "When we looked at values she said courage and kindness, and she teared up.",
            "values",
            "courage and kindness",
        ),
        (
            "act",
            "He named being a steady, patient brother and learning Spanish as what matters most "
            "to him.",
            "values",
            "being a steady, patient brother and learning Spanish",
        ),
        (
            "act",
            "We revisited her values of learning and friendship and talked about a small step.",
            "values",
            "learning and friendship",
        ),
        (
            "psychodynamic",
            "The central themes are shame and a fear of being seen, and his defenses are mostly "
            "jokes.",
            "themes",
            "shame and a fear of being seen",
        ),
    ],
)
def test_free_text_fields_end_where_the_clinicians_next_clause_begins(
    modality: str, text: str, field: str, value: str
) -> None:
    assert _values(modality, text)[field] == [value]


def test_values_named_in_the_sentence_after_values_work_are_the_values() -> None:
    text = (
        "Then we turned to values work and what she wants her life to stand for. She named "
        "generosity and being brave, and said the move fits both."
    )
    assert _values("act", text)["values"] == ["generosity and being brave"]
    # Without values work before it, "named" is anything named.
    assert "values" not in _values("act", "She named three reasons to stay, and said so twice.")


@pytest.mark.parametrize(
    ("modality", "text", "field", "term", "written"),
    [
        (
            "cbt",
            "He discounts the positive when praised.",
            "cognitive_distortions",
            "discounting the positive",
            "discounts the positive",
        ),
        (
            "psychodynamic",
            "She kept intellectualizing the loss.",
            "defenses",
            "intellectualization",
            "intellectualizing",
        ),
        (
            "psychodynamic",
            "The anger at his boss is displaced onto his son.",
            "defenses",
            "displacement",
            "displaced onto",
        ),
        (
            "psychodynamic",
            "He rationalized skipping the visit.",
            "defenses",
            "rationalization",
            "rationalized",
        ),
    ],
)
def test_a_distortion_or_defense_named_by_its_verb_is_the_term(
    modality: str, text: str, field: str, term: str, written: str
) -> None:
    (found,) = _fields(modality, text)[field]
    assert (found.value, _said(text, found)) == (term, written)


def test_self_energy_estimated_after_an_aside_keeps_its_percentage() -> None:
    text = (
        "She felt curious toward the critic, so there was some Self energy there, maybe 40 percent."
    )
    assert _values("ifs", text)["self_energy"] == ["40%"]


# Found in the Piper transcripts of the stop-25 probe dictations (sentences rewritten here).
def test_whispers_as_for_is_links_a_cognition_to_its_words() -> None:
    text = "The negative cognition is I'm weak and the positive cognition as I can handle this."
    assert _values("emdr", text)["positive_cognition"] == ["I can handle this"]


@pytest.mark.parametrize(
    ("modality", "text", "field", "value"),
    [
        (
            "cbt",
            "Homework is to walk after dinner three times, follow up in two weeks, same time.",
            "homework",
            "walk after dinner three times",
        ),
        (
            "dbt",
            "Her diary card showed urges to binge and skipping meals, then we did a chain "
            "analysis of Monday night.",
            "diary_card_targets",
            "urges to binge and skipping meals",
        ),
    ],
)
def test_a_free_text_value_ends_where_whispers_comma_stands_for_a_full_stop(
    modality: str, text: str, field: str, value: str
) -> None:
    assert _values(modality, text)[field] == [value]


# Written for these tests, as clinicians in a probe set dictated them (stop 28).
@pytest.mark.parametrize(
    ("text", "field", "values"),
    [
        # A point on the rating's scale said with an article, with no scale or "rated".
        ("Mood maybe a five, anxiety a six.", "mood_rating", ["5"]),
        ("Mood maybe a five, anxiety a six.", "anxiety_rating", ["6"]),
        ("He described his mood as a four.", "mood_rating", ["4"]),
        # Where it ended, said with no scale.
        ("Her anxiety was down to 2 by the end of the session.", "anxiety_rating", ["2"]),
        # Two readings joined by a comma alone, or ended "leaving" or "after" something.
        ("Mood 3/10 at start, 4/10 at end.", "mood_rating", ["3", "4"]),
        ("Anxiety 7/10 coming in, 4 leaving.", "anxiety_rating", ["7", "4"]),
        (
            "She rated her anxiety an eight at check-in and a five after the breathing.",
            "anxiety_rating",
            ["8", "5"],
        ),
    ],
)
def test_a_rating_said_the_short_way_is_kept(text: str, field: str, values: list[str]) -> None:
    assert [v.value for v in _fields("integrative", text)[field]] == values


# Written for these tests, in the ways a probe set's clinicians said these fields (stop 28).
def test_the_cognitions_abbreviated_as_emdr_clinicians_say_them_are_kept() -> None:
    got = _values("emdr", 'NC remains "I am worthless," and the PC she wants is "I am enough."')
    assert got["negative_cognition"] == ["I am worthless"]
    assert got["positive_cognition"] == ["I am enough"]
    came_out = _values("emdr", "His negative cognition came out as I'm trapped, at first.")
    assert came_out["negative_cognition"] == ["I'm trapped"]


def test_an_abbreviation_with_no_link_is_no_cognition() -> None:
    assert "positive_cognition" not in _values("emdr", "She bought a new PC, I think, for school.")


def test_values_said_after_which_are_are_kept() -> None:
    got = _values("act", "Revisited her values, which are being a patient mother and making music.")
    assert got["values"] == ["being a patient mother and making music"]


@pytest.mark.parametrize(
    "text",
    [
        "Reviewed the diary card, targets this week were purging, missed classes, and fights.",
        "Diary card half filled in, targets tracked purging, missed classes, and fights.",
        "Reviewed diary card, targets: purging, missed classes, and fights.",
        "She came in with her diary card filled out for once, which I made a point of praising, "
        "and the targets she's been tracking are purging, missed classes, and fights.",
    ],
)
def test_diary_card_targets_said_after_the_card_are_kept(text: str) -> None:
    assert _values("dbt", text)["diary_card_targets"] == ["purging, missed classes, and fights"]


# Written for these tests, in the ways a second probe set's clinicians said these fields (stop 29).
def test_a_cognition_typed_in_quotes_after_its_abbreviation_is_kept() -> None:
    got = _values("emdr", 'NC "I am powerless," PC "I am strong now and I can protect myself."')
    assert got["negative_cognition"] == ["I am powerless"]
    assert got["positive_cognition"] == ["I am strong now and I can protect myself"]


@pytest.mark.parametrize(
    ("text", "target"),
    [
        # Typed after a colon, with no article to open it.
        (
            "Phase 4 desens cont'd on target: dog attack at age 9 in neighbor's yard.",
            "dog attack at age 9 in neighbor's yard",
        ),
        # Narrowed to its worst moment after a comma: the same memory.
        (
            "The target is the crash by the stadium, specifically the moment he was on the ground.",
            "the crash by the stadium, specifically the moment he was on the ground",
        ),
        # A clipped note read aloud: Whisper hears the label's colon as a comma.
        (
            "Resource still there, phase three, target, brother locking her in the shed, image "
            "is the padlock.",
            "brother locking her in the shed",
        ),
    ],
)
def test_a_target_typed_or_narrowed_is_kept_whole(text: str, target: str) -> None:
    assert _values("emdr", text)["target"] == [target]


def test_a_comma_still_ends_a_target_before_another_field() -> None:
    got = _values("emdr", "The target was the car accident, the negative cognition is I am weak.")
    assert got["target"] == ["the car accident"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("By the end his anxiety was down to a five, sorry, a four, he corrected himself.", "4"),
        ("Anxiety 7/10, I mean 6/10, at the start.", "6"),
        ("She rated her anxiety about the subway a seven out of ten when we started.", "7"),
        ("Anxiety re: Monday 7/10.", "7"),
    ],
)
def test_a_rating_corrected_or_of_a_topic_is_read(text: str, value: str) -> None:
    assert [v.value for v in _fields("integrative", text)["anxiety_rating"]] == [value]


@pytest.mark.parametrize(
    "text",
    [
        # A topic and a number with no scale: the number may be anything about the topic.
        "Her anxiety about the 3 kids was high.",
        "Her anxiety about the subway a seven.",
    ],
)
def test_a_number_after_a_topic_without_its_scale_is_no_rating(text: str) -> None:
    assert "anxiety_rating" not in _values("integrative", text)


def test_a_sud_typed_at_end_is_the_end() -> None:
    assert _values("emdr", "SUD 8 at start. SUD 3 at end.")["sud_end"] == ["3"]


def test_a_skill_forgotten_is_not_done() -> None:
    (stop,) = _fields("dbt", "Forgot to use STOP Tues night.")["skills_used"]
    assert (stop.value, stop.status) == ("STOP", NOT_DONE)


def test_devaluation_is_a_defense() -> None:
    text = 'Interpreted defenses: isolation of affect, devaluing ("she was boring anyway").'
    assert _values("psychodynamic", text)["defenses"] == ["isolation of affect", "devaluation"]


def test_values_said_as_what_matters_after_she_said_keep_only_the_values() -> None:
    text = "Asked about values, she said what matters most to her is community and her garden."
    assert _values("act", text)["values"] == ["community and her garden"]


# As Whisper writes these from a natural voice (probe set D spoken by Piper, stop 29).
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Mood 5-slash 10, anxiety low.", "5"),
        ("Mood 5 slash 10, initially detached.", "5"),
    ],
)
def test_a_rating_with_its_slash_said_as_a_word_is_read(text: str, value: str) -> None:
    (mood,) = _fields("integrative", text)["mood_rating"]
    assert (mood.value, mood.out_of) == (value, "10")


@pytest.mark.parametrize(
    ("text", "value", "previous"),
    [
        ("GAD-7-14-prev-16, some progress.", "14", "16"),
        # A pause heard as a full stop before the earlier value.
        ("Her GAD-7 was 16. up from 12 at their first session.", "16", "12"),
        ("His GAD-7 was 9. which is actually down from 13 a month ago, so that's good.", "9", "13"),
    ],
)
def test_an_earlier_score_heard_with_hyphens_or_after_a_stop_is_kept(
    text: str, value: str, previous: str
) -> None:
    (found,) = _fields("integrative", text)["gad_7"]
    assert (found.value, found.previous) == (value, previous)


# Whisper fuses a questionnaire's name with the score said after it (probe set F, Piper).
@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("Affect constricted, PHQ-914, down from 19 at intake.", "phq_9", "14"),
        ("Nightmares twice, GAD-713, EMDR session four.", "gad_7", "13"),
        ("Taking prazosin nightly, PCL552, session four.", "pcl_5", "52"),
        ("Mood low, PHQ-92 last week.", "phq_9", "2"),
    ],
)
def test_a_score_fused_with_its_questionnaires_name_is_read(
    text: str, field: str, value: str
) -> None:
    (found,) = _fields("integrative", text)[field]
    # The value cites only its own digits inside the fused word.
    assert found.value == value and _said(text, found) == value


def test_a_rating_heard_after_an_unlinking_word_is_read_by_its_scale() -> None:
    # Whisper's "put it" for "put at"; the scale says it is the rating.
    (mood,) = _fields("cbt", "Mood she put it 4 out of 10, and anxiety 7.")["mood_rating"]
    assert (mood.value, mood.out_of) == ("4", "10")
    assert "mood_rating" not in _values("cbt", "Mood she put it 4 days ago.")


def test_a_rating_someone_gave_is_read_without_its_scale() -> None:
    (mood,) = _fields("cbt", "Mood she put at a five, up from a three last session.")["mood_rating"]
    assert (mood.value, mood.previous) == ("5", "3")
    (anxiety,) = _fields("cbt", "He rated his anxiety that week a six.")["anxiety_rating"]
    assert anxiety.value == "6"
    # A count is no rating, given or not.
    assert "mood_rating" not in _values("cbt", "Mood she put at a five days ago.")
    assert "anxiety_rating" not in _values("cbt", "He rated his anxiety that week a 6 days.")


def test_the_memory_rated_may_be_named_by_a_word() -> None:
    found = _values("emdr", "Going in, he rated the crash memory a seven on the SUD scale.")
    assert found["sud_start"] == ["7"]


@pytest.mark.parametrize(
    "text",
    [
        "PHQ-928 was typed.",  # 28 is no PHQ-9 score
        "GAD-722 was typed.",  # nor 22 a GAD-7 score
        "PCL581 was typed.",  # nor 81 a PCL-5 score
    ],
)
def test_digits_no_questionnaire_can_score_are_not_read_as_one(text: str) -> None:
    got = _values("integrative", text)
    assert not {k for k in got if k in {"phq_9", "gad_7", "pcl_5"}}, got


def test_self_energy_heard_in_lower_case_after_a_percentage_is_kept() -> None:
    text = "She said she felt about 40% self, calmer, more like me."
    (found,) = _fields("ifs", text)["self_energy"]
    assert found.value == "40%"
    assert "self_energy" not in _values("ifs", "Her 40% self-esteem score came up.")


def test_a_value_said_after_a_filler_is_read_and_cited_without_it() -> None:
    text = (
        "The negative cognition she came up with was, uh, I should have known. Positive "
        "cognition, let me see, I did everything I could. SUD was, um, nine, she didn't "
        "hesitate. Mood she put at four out of ten, and anxiety, um, seven out of ten."
    )
    fields = _fields("emdr", text)
    said = {name: [_said(text, v) for v in values] for name, values in fields.items() if values}
    assert said == {
        "negative_cognition": ["I should have known"],
        "positive_cognition": ["I did everything I could"],
        "sud_start": ["nine"],
        "mood_rating": ["four"],
        "anxiety_rating": ["seven"],
    }


def test_a_filler_inside_a_free_text_value_is_left_out_of_it_and_the_er_is_no_filler() -> None:
    values = _values(
        "cbt",
        "Homework is one twenty-minute money talk, uh, with a timer.",
    )
    assert values["homework"] == ["one twenty-minute money talk with a timer"]
    emdr = _values("emdr", "The target memory is the night in the ER when the doctor told her.")
    assert emdr["target"] == ["the night in the ER when the doctor told her"]


def test_a_clipped_not_tried_after_a_skill_records_it_as_not_done() -> None:
    assert _values("dbt", "Opposite action not tried. Used TIPP Thursday night.") == {
        "skills_used": ["TIPP", "opposite action (not done)"]
    }
    # Another clause's "not used" or "not tried" leaves the skill before it done.
    assert _values("dbt", "Used TIPP, and the diary card was not used.")["skills_used"] == ["TIPP"]
    assert _values("dbt", "Used TIPP, opposite action not tried.")["skills_used"] == [
        "TIPP",
        "opposite action (not done)",
    ]


def test_a_phq_said_without_its_nine_is_the_phq_9_but_not_the_phq_2_or_15() -> None:
    assert _values("dbt", "Mood 4 out of 10, PHQ 13.")["phq_9"] == ["13"]
    assert "phq_9" not in _values("cbt", "PHQ-2 was 3, PHQ-15 was 9, PHQ-A 8, PHQ-8 was 12.")
    assert _values("cbt", "PHQ was 14 today.")["phq_9"] == ["14"]


def test_diary_card_targets_she_has_been_tracking_are_read() -> None:
    values = _values(
        "dbt",
        "We went through her diary card first, and the targets she has been tracking are "
        "arguments with her mother, skipped meals, and short nights.",
    )
    assert values["diary_card_targets"] == [
        "arguments with her mother, skipped meals, and short nights"
    ]


def test_a_transference_that_seems_to_be_something_is_that_thing() -> None:
    values = _values(
        "psychodynamic",
        "The transference seems to be an expectation that I, like her parents, will prefer "
        "someone else.",
    )
    assert values["transference"] == [
        "an expectation that I, like her parents, will prefer someone else"
    ]


# Written for these tests, in the ways probe set G's dictations said them.
@pytest.mark.parametrize(
    ("modality", "text", "field", "value"),
    [
        (
            "emdr",
            "Negative cognition, she came up with I'm not safe anywhere.",
            "negative_cognition",
            "I'm not safe anywhere",
        ),
        (
            "act",
            "When we turned to values, he named his values as being a patient father.",
            "values",
            "being a patient father",
        ),
        (
            "dbt",
            "The chain analysis went vulnerability of no sleep, prompting event a missed bus.",
            "chain_analysis",
            "vulnerability of no sleep, prompting event a missed bus",
        ),
        ("psychodynamic", "CT: urge to rescue him.", "countertransference", "urge to rescue him"),
    ],
)
def test_a_field_said_after_a_heading_or_a_verb_holds_only_its_content(
    modality: str, text: str, field: str, value: str
) -> None:
    assert _values(modality, text)[field] == [value]


def test_last_weeks_homework_reviewed_is_not_this_weeks() -> None:
    text = "Reviewed thought record from HW; pt spotted mind reading. HW: 2 job applications."
    assert _values("cbt", text)["homework"] == ["2 job applications"]


def test_ct_is_countertransference_only_as_a_heading() -> None:
    assert "countertransference" not in _values("psychodynamic", "The CT scan was normal.")


def test_every_phase_worked_in_is_kept_once_and_none_only_planned() -> None:
    said = (
        "Continued phase four, desensitization, and once the SUD reached zero we moved to phase "
        "five. Phase four went well. Next session: installation check, then begin phase six."
    )
    assert _values("emdr", said)["phase"] == ["4", "5"]
    # A phase not reached counts only when no phase was worked in.
    assert [v.status for v in _fields("emdr", "We did not get to phase 4.")["phase"]] == [
        "not_done"
    ]
    assert _values("emdr", "Phase 3 today. We did not get to phase 4.")["phase"] == ["3"]


@pytest.mark.parametrize(
    ("modality", "said", "field", "term"),
    [
        (
            "cbt",
            "We were going to start the exposure hierarchy but we ran out of time, so no "
            "exposure this week.",
            "interventions",
            "exposure",
        ),
        ("ifs", "We didn't get near an exile today.", "parts", "exile"),
        ("act", "Self-as-context not addressed today.", "hexaflex_processes", "self-as-context"),
    ],
)
def test_a_term_said_not_done_is_not_done(modality: str, said: str, field: str, term: str) -> None:
    (value,) = _fields(modality, said)[field]
    assert (value.value, value.status) == (term, "not_done")


def test_a_term_planned_and_then_done_cites_where_it_was_done() -> None:
    said = "Next week we start exposure. We did a thought record on exposure fears."
    (value,) = [v for v in _fields("cbt", said)["interventions"] if v.value == "exposure"]
    assert value.status == "done" and value.sentence == 1


@pytest.mark.parametrize(
    ("modality", "said", "field", "values"),
    [
        (
            "integrative",
            "Her anxiety going in was a six and coming out a three.",
            "anxiety_rating",
            ["6", "3"],
        ),
        (
            "integrative",
            "Anxiety going in 7/10, coming out 4/10.",
            "anxiety_rating",
            ["7 out of 10", "4 out of 10"],
        ),
        ("emdr", "SUD going in was 8 and walking out maybe a 3.", "sud_end", ["3"]),
        ("integrative", "Anxiety going into the meeting was high.", "anxiety_rating", []),
    ],
)
def test_a_rating_taken_going_in_and_coming_out_is_read_as_start_and_end(
    modality: str, said: str, field: str, values: list[str]
) -> None:
    assert _values(modality, said).get(field, []) == values


# As Whisper wrote them from probe set G's Piper audio.
@pytest.mark.parametrize(
    ("modality", "heard", "field", "values"),
    [
        (
            "act",
            "She raided her mood at three out of ten in her anxiety at six.",
            "anxiety_rating",
            ["6"],
        ),
        ("emdr", "Going in, he raided the crash memory of 7 on the SUD scale.", "sud_start", ["7"]),
        ("dbt", "She rated her mood a 4 coming in end a 6 by the end.", "mood_rating", ["4", "6"]),
        ("dbt", "I also taught and rehearsed the stop skill.", "skills_used", ["STOP"]),
        # Lower case without "skill" is the plain word.
        ("dbt", "She wanted to stop drinking.", "skills_used", []),
    ],
)
def test_a_value_is_read_as_whisper_writes_it(
    modality: str, heard: str, field: str, values: list[str]
) -> None:
    assert _values(modality, heard).get(field, []) == values


@pytest.mark.parametrize(
    ("modality", "said", "field", "values"),
    [
        (
            "act",
            "His anxiety went from 7 at the start to 4 at the end.",
            "anxiety_rating",
            ["7", "4"],
        ),
        (
            "act",
            "His anxiety rating went from seven out of ten at the start of that exercise to four.",
            "anxiety_rating",
            ["7 out of 10", "4 out of 10"],
        ),
        ("act", "His anxiety went from 7 to 4.", "anxiety_rating", ["7", "4"]),
        ("emdr", "SUD went from 8 at the start of processing to 2.", "sud_end", ["2"]),
        # Counts, not points of a scale.
        ("act", "Anxiety went from 7 days to 4 days a week.", "anxiety_rating", []),
    ],
)
def test_a_rating_that_went_from_one_point_to_another_keeps_both(
    modality: str, said: str, field: str, values: list[str]
) -> None:
    assert _values(modality, said).get(field, []) == values


def test_an_earlier_score_said_as_and_it_was_back_then_is_the_previous() -> None:
    said = "Um, her PCL-5 was 48, and it was 52 back in March, so, you know, a little movement."
    (pcl,) = _fields("emdr", said)["pcl_5"]
    assert (pcl.value, pcl.previous) == ("48", "52")
    (pcl,) = _fields("emdr", "PCL-5 was 48, and it was hard for her.")["pcl_5"]
    assert pcl.previous is None


# Written for these tests, in the ways probe set H's dictations said them.
@pytest.mark.parametrize(
    ("modality", "said", "field", "values"),
    [
        ("integrative", "Mood four of ten.", "mood_rating", ["4"]),
        ("act", "Pain anxiety eight of ten at start, five at end.", "anxiety_rating", ["8", "5"]),
        ("integrative", "Mood two of ten sessions were bad.", "mood_rating", []),
        ("integrative", "PHQ nine was, uh, twelve, no wait, eleven.", "phq_9", ["11"]),
        ("ifs", "His Self-energy got up to maybe sixty percent.", "self_energy", ["60%"]),
        ("cbt", "He completed the PHQ-9, scoring nine.", "phq_9", ["9"]),
        ("cbt", "GAD seven, he scored thirteen, down from sixteen.", "gad_7", ["13"]),
        ("cbt", "PHQ-9, he said it was fine.", "phq_9", []),
    ],
)
def test_a_value_said_in_clipped_or_corrected_speech_is_read(
    modality: str, said: str, field: str, values: list[str]
) -> None:
    assert [v.value for v in _fields(modality, said)[field]] == values


@pytest.mark.parametrize(
    ("modality", "said", "field", "term"),
    [
        (
            "cbt",
            "We'd planned interoceptive exposure, but the connection kept dropping, so no "
            "exposure this week.",
            "interventions",
            "exposure",
        ),
        (
            "act",
            "Although I had intended to introduce self-as-context today, we did not get to it.",
            "hexaflex_processes",
            "self-as-context",
        ),
    ],
)
def test_a_term_meant_for_today_and_not_reached_is_not_done(
    modality: str, said: str, field: str, term: str
) -> None:
    (value,) = _fields(modality, said)[field]
    assert (value.value, value.status) == (term, "not_done")

"""Scoring the modality fields against the hand labels (issue 14; fast: no models)."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import pytest

from appliance.drafting.draft import build_draft
from appliance.drafting.modalities import DONE, NOT_DONE, FieldValue
from eval.asr import Heard
from eval.cases import CASES_DIR, CASES_FILE, Case, ExpectedValue, expected_value, load_cases
from eval.llm import CountingClassifier
from eval.run import FIELDS_TARGET, SOURCES, draft_all, fields_table, targets_table, totals
from eval.score import score_draft, score_fields
from eval.text import words
from eval.validate import case_problems

CASES = {c.id: c for c in load_cases()}


def _one(expected: Sequence[ExpectedValue], got: Sequence[FieldValue]) -> bool:
    (result,) = score_fields({"f": expected}, {"f": got})
    return result.correct


def test_a_value_is_correct_when_its_words_are_the_labels_however_written() -> None:
    assert _one([ExpectedValue("7")], [FieldValue("seven", 0)])
    assert _one([ExpectedValue("60 percent")], [FieldValue("60%", 0)])
    assert _one([ExpectedValue("I am powerless")], [FieldValue("I am powerless.", 0)])
    assert _one([ExpectedValue("a"), ExpectedValue("b")], [FieldValue("b", 1), FieldValue("a", 0)])


def test_a_whole_sentence_where_a_value_is_labelled_is_wrong() -> None:
    sentence = "EMDR session 6, phase 4, desensitization of a memory."
    assert not _one([ExpectedValue("4")], [FieldValue(sentence, 0)])


def test_a_value_missing_or_extra_is_wrong() -> None:
    assert not _one([ExpectedValue("a"), ExpectedValue("b")], [FieldValue("a", 0)])
    assert not _one([ExpectedValue("a")], [FieldValue("a", 0), FieldValue("c", 0)])


def test_an_empty_field_is_correct_only_where_the_label_is_empty() -> None:
    assert _one([], [])
    assert not _one([], [FieldValue("7", 0)])
    assert not _one([ExpectedValue("7")], [])
    # A labelled field the draft does not have at all (a draft stored before it existed).
    (result,) = score_fields({"phq_9": [ExpectedValue("11")]}, {})
    assert not result.correct and result.got == ()


def test_a_field_is_heard_only_when_whisper_kept_its_labelled_words() -> None:
    heard = words("the SUD started at seven and dropped to one, down from two")
    labels = {
        "sud_start": [ExpectedValue("7")],
        "sud_end": [ExpectedValue("1", previous="2")],
        "voc_start": [ExpectedValue("3")],  # misheard: no 3 in the transcript
        "voc_end": [],  # nothing to hear
        "unblending": [ExpectedValue("done")],  # an event, no word of the dictation
    }
    results = {r.name: r.heard for r in score_fields(labels, {}, heard)}
    assert results == {
        "sud_start": True,
        "sud_end": True,
        "voc_start": False,
        "voc_end": True,
        "unblending": True,
    }
    assert not score_fields({"f": [ExpectedValue("1", previous="9")]}, {}, heard)[0].heard


def test_a_negated_field_must_be_marked_not_done() -> None:
    not_done = [ExpectedValue("", NOT_DONE)]
    assert _one(not_done, [FieldValue("", 0, status=NOT_DONE)])
    assert not _one(not_done, [FieldValue("done", 0)])
    assert not _one(not_done, [])
    assert not _one([ExpectedValue("exposure")], [FieldValue("exposure", 0, status=NOT_DONE)])


def test_a_measure_must_keep_its_previous_value() -> None:
    labelled = [ExpectedValue("47", DONE, "52")]
    assert _one(labelled, [FieldValue("47", 0, previous="fifty-two")])
    assert not _one(labelled, [FieldValue("47", 0)])
    assert not _one(labelled, [FieldValue("52", 0, previous="47")])


def test_labels_read_as_strings_or_objects() -> None:
    assert expected_value("7") == ExpectedValue("7", DONE, None)
    assert expected_value({"status": "not_done"}) == ExpectedValue("", NOT_DONE, None)
    assert expected_value({"value": 47, "previous": 52}) == ExpectedValue("47", DONE, "52")


def test_every_case_labels_its_modalitys_fields() -> None:
    for case in CASES.values():
        scored = score_draft(case, build_draft(case.script, case.modality, case.note_format))
        assert [f.name for f in scored.fields] == list(case.expected_fields)
        assert scored.fields, case.id


def test_from_the_scripts_the_fields_reach_the_target() -> None:
    scores = [
        score_draft(case, build_draft(case.script, case.modality, case.note_format))
        for case in CASES.values()
    ]
    results = [f for s in scores for f in s.fields]
    wrong = [f"{f.name}: {f.expected} != {f.got}" for f in results if not f.correct]
    assert sum(s.fields_correct for s in scores) / len(results) >= FIELDS_TARGET, wrong


class _NoModel:
    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        return None


def _results(cases: Sequence[Case], heard_text: dict[str, str]) -> dict[str, list[Any]]:
    heard = {c.id: Heard(heard_text.get(c.id, c.script), 1.0, 1.0) for c in cases}
    classifier = CountingClassifier(_NoModel())  # type: ignore[arg-type]
    results = draft_all(cases, heard, classifier, [])
    return {source: [r for r in results if r.source == source] for source in SOURCES}


def test_the_report_gives_fields_per_modality_and_overall_and_fails_below_the_target() -> None:
    cases = [CASES["emdr-01"], CASES["cbt-01"]]
    # Whisper "heard" every number of the EMDR case wrong: its scales are wrong end to end.
    garbled = CASES["emdr-01"].script.replace("SUD", "sod").replace("VOC", "vote")
    by_source = _results(cases, {"emdr-01": garbled})
    rows = fields_table(by_source).splitlines()
    assert [row.split("|")[1].strip() for row in rows[2:]] == ["cbt", "emdr", "**overall**"]
    script, asr = totals(by_source["script"]), totals(by_source["asr"])
    assert script.fields_total == asr.fields_total == sum(len(c.expected_fields) for c in cases)
    assert asr.fields_correct == script.fields_correct - 4  # sud/voc start/end lost
    overall = rows[-1].split("|")
    assert overall[2].strip() == f"{script.fields_correct}/{script.fields_total}"
    _, failures = targets_table(by_source)
    field_failures = [f for f in failures if "modality fields" in f]
    script_failed = any("perfect transcription" in f for f in field_failures)
    asr_failed = any("end to end" in f for f in field_failures)
    assert script_failed == (script.field_accuracy < FIELDS_TARGET)
    assert asr_failed == (asr.field_accuracy < FIELDS_TARGET)
    assert asr_failed and asr.field_accuracy < script.field_accuracy


# The labels themselves are checked like the rest of cases.json.


def _broken(change: str) -> dict[str, Any]:
    case: dict[str, Any] = copy.deepcopy(json.loads(CASES_FILE.read_text())["cases"][6])
    assert case["id"] == "emdr-01"
    labels = case["expected_fields"]
    if change == "a field not labelled":
        del labels["voc_end"]
    elif change == "a field of another modality":
        labels["homework"] = []
    elif change == "a value the script does not say":
        labels["sud_end"] = ["7"]
    elif change == "a previous value the script does not say":
        labels["sud_end"] = [{"value": "3", "previous": "7"}]
    elif change == "an unknown status":
        labels["target"] = [{"status": "skipped"}]
    elif change == "an unknown key":
        labels["target"] = [{"value": "dog", "confidence": 1}]
    elif change == "fields not a mapping":
        case["expected_fields"] = []
    return case


@pytest.mark.parametrize(
    "change",
    [
        "a field not labelled",
        "a field of another modality",
        "a value the script does not say",
        "a previous value the script does not say",
        "an unknown status",
        "an unknown key",
        "fields not a mapping",
    ],
)
def test_a_broken_field_label_is_reported(change: str) -> None:
    assert case_problems(_broken(change), CASES_DIR) != []


def test_a_negated_label_needs_no_value_and_done_events_need_no_words() -> None:
    case = _broken("none")
    case["expected_fields"]["target"] = [{"status": "not_done"}]
    assert case_problems(case, CASES_DIR) == []
    ifs: dict[str, Any] = copy.deepcopy(json.loads(CASES_FILE.read_text())["cases"][8])
    assert ifs["expected_fields"]["unblending"] == ["done"]
    assert case_problems(ifs, CASES_DIR) == []

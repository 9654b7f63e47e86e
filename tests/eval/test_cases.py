"""The evaluation set is well-formed (fast: no models; the audio is only decoded)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from appliance.drafting.risk import is_risk_sentence
from appliance.drafting.segment import split_sentences
from eval.cases import CASES_DIR, CASES_FILE, load_cases
from eval.validate import audio_problems, case_problems, coverage_problems

MAX_SET_BYTES = 6 * 1024 * 1024  # 22 cases in two voices (espeak-ng, Piper), about 3 MB each


def _raw() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())["cases"]
    return cases


RAW = _raw()
IDS = [c["id"] for c in RAW]


@pytest.mark.parametrize("case", RAW, ids=IDS)
def test_each_case_is_well_formed(case: dict[str, Any]) -> None:
    assert case_problems(case, CASES_DIR) == []


@pytest.mark.parametrize("case", RAW, ids=IDS)
def test_each_audio_lasts_what_is_recorded_and_30_to_60_s(case: dict[str, Any]) -> None:
    assert audio_problems(case, CASES_DIR) == []
    assert 30 <= case["duration_seconds"] <= 60


def test_the_set_covers_every_modality_format_and_both_risk_cases() -> None:
    assert len(RAW) >= 12
    assert coverage_problems(RAW) == []


def test_the_set_stays_small() -> None:
    size = sum(p.stat().st_size for p in CASES_DIR.iterdir() if p.is_file())
    assert size <= MAX_SET_BYTES, f"{size} bytes"


def test_the_loader_reads_every_case() -> None:
    cases = load_cases()
    assert [c.id for c in cases] == IDS
    for case in cases:
        assert len(case.expected) == len(split_sentences(case.script))


NO_RISK = [c for c in RAW if not c["risk_addressed"]]


@pytest.mark.parametrize("case", NO_RISK, ids=[c["id"] for c in NO_RISK])
def test_scripts_without_risk_say_nothing_the_risk_detector_would_take_for_risk(
    case: dict[str, Any],
) -> None:
    """A case meant to test "not addressed in dictation" must not contain risk words at all."""
    script = (CASES_DIR / case["script"]).read_text()
    assert [s.text for s in split_sentences(script) if is_risk_sentence(s)] == []


# The checks above must be able to fail: each broken copy of a real case is caught.


def _broken(change: str) -> dict[str, Any]:
    case = copy.deepcopy(RAW[0])
    if change == "fact not in script":
        case["facts"][0] = "fluvoxamine 75 milligrams"
    elif change == "must_not_appear in script":
        case["must_not_appear"][0] = case["facts"][0]
    elif change == "too few facts":
        case["facts"] = case["facts"][:3]
    elif change == "a sentence label missing":
        case["expected_sections"].pop()
    elif change == "a label from another format":
        case["expected_sections"][0]["section"] = "goals"  # cbt-01 is SOAP
    elif change == "labels out of order":
        labels = case["expected_sections"]
        labels[0], labels[1] = labels[1], labels[0]
    elif change == "risk flag contradicts labels":
        case["risk_addressed"] = not case["risk_addressed"]
    elif change == "unknown modality":
        case["modality"] = "gestalt"
    elif change == "unknown format":
        case["note_format"] = "soapie"
    elif change == "missing audio":
        case["audio"] = "nowhere.opus"
    elif change == "duration is a string":
        case["duration_seconds"] = "54"
    return case


@pytest.mark.parametrize(
    "change",
    [
        "fact not in script",
        "must_not_appear in script",
        "too few facts",
        "a sentence label missing",
        "a label from another format",
        "labels out of order",
        "risk flag contradicts labels",
        "unknown modality",
        "unknown format",
        "missing audio",
        "duration is a string",
    ],
)
def test_a_broken_case_is_reported(change: str) -> None:
    assert RAW[0]["note_format"] == "soap"
    assert case_problems(_broken(change), CASES_DIR) != []


def test_a_wrong_duration_is_reported() -> None:
    case = copy.deepcopy(RAW[0])
    case["duration_seconds"] = case["duration_seconds"] * 1.2
    assert audio_problems(case, CASES_DIR) != []


def test_missing_coverage_is_reported() -> None:
    assert coverage_problems([c for c in RAW if c["modality"] != "ifs"]) == [
        "no case for modality ifs"
    ]
    assert coverage_problems([c for c in RAW if c["note_format"] != "girp"]) == [
        "no case for note format girp"
    ]
    assert "no case with risk_addressed False" in coverage_problems(
        [c for c in RAW if c["risk_addressed"]]
    )
    assert "case ids are not unique" in coverage_problems([*RAW, RAW[0]])


def test_a_script_with_unicode_is_reported(tmp_path: Path) -> None:
    case = copy.deepcopy(RAW[0])
    script = (CASES_DIR / case["script"]).read_text().replace("PHQ-9", "PHQ\u20119")
    (tmp_path / case["script"]).write_text(script)
    (tmp_path / case["audio"]).write_bytes(b"")
    assert "the script is not plain ASCII" in case_problems(case, tmp_path)

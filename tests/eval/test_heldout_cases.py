"""The held-out evaluation set is well-formed and stays apart from the development set.

The same checks the development set gets (tests/eval/test_cases.py), on
tests/fixtures/eval/heldout/, plus what makes it a held-out set: its own coverage (each modality
twice, each note format three times, couples, group and individual session lines), 1-3 minute
dictations, and no case or sentence shared with the development set. Fast: no models; the audio
is only decoded.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from appliance.drafting.risk import is_risk_sentence
from appliance.drafting.segment import split_sentences
from appliance.records.dictations import MODALITIES, NOTE_FORMATS
from eval.cases import CASES_DIR, CASES_FILE, load_cases
from eval.text import contains, words
from eval.validate import audio_problems, case_problems, coverage_problems

HELDOUT_DIR = CASES_DIR / "heldout"
HELDOUT_FILE = HELDOUT_DIR / "cases.json"

MIN_CASES = 14
PER_MODALITY = 2
PER_FORMAT = 3
# A 1-3 minute dictation: the words of the script, and the seconds espeak-ng takes to say them.
WORDS = (150, 450)
SECONDS = (45.0, 180.0)
# Both voices (espeak-ng, Piper) of 14 dictations of 1-3 minutes, at 24 kbit/s: about 6 MB.
MAX_SET_BYTES = 8 * 1024 * 1024
# CPT codes a session line names: psychotherapy with the client (45 and 60 minutes), family or
# couples psychotherapy with the client present, group psychotherapy.
INDIVIDUAL = ("90834", "90837")
COUPLES = "90847"
GROUP = "90853"


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(HELDOUT_FILE.read_text())
    return data


RAW: list[dict[str, Any]] = _data()["cases"]
IDS = [c["id"] for c in RAW]


def _script(case: Mapping[str, Any], folder: Path = HELDOUT_DIR) -> str:
    return (folder / case["script"]).read_text(encoding="utf-8")


def heldout_coverage_problems(
    cases: Sequence[Mapping[str, Any]], folder: Path = HELDOUT_DIR
) -> list[str]:
    """What the held-out set lacks beyond the development set's coverage rules."""
    problems = coverage_problems(cases)
    if len(cases) < MIN_CASES:
        problems.append(f"{len(cases)} cases, fewer than {MIN_CASES}")
    for name, wanted, least, counts in (
        ("modality", MODALITIES, PER_MODALITY, Counter(c.get("modality") for c in cases)),
        ("note format", NOTE_FORMATS, PER_FORMAT, Counter(c.get("note_format") for c in cases)),
    ):
        for key in sorted(wanted):
            if 0 < counts[key] < least:
                problems.append(f"{name} {key} has {counts[key]} cases, fewer than {least}")
    scripts = [words(_script(c, folder)) for c in cases]
    for kind, codes in (("individual", INDIVIDUAL), ("couples", (COUPLES,)), ("group", (GROUP,))):
        if not any(contains(script, code) for script in scripts for code in codes):
            problems.append(f"no {kind} session line ({' or '.join(codes)})")
    return problems


def shared_sentences(cases: Sequence[Mapping[str, Any]], folder: Path = HELDOUT_DIR) -> list[str]:
    """Sentences of held-out scripts that a development script also says (words compared)."""
    dev_cases = json.loads(CASES_FILE.read_text())["cases"]
    dev = {tuple(words(s.text)) for c in dev_cases for s in split_sentences(_script(c, CASES_DIR))}
    return [
        s.text
        for c in cases
        for s in split_sentences(_script(c, folder))
        if tuple(words(s.text)) in dev
    ]


@pytest.mark.parametrize("case", RAW, ids=IDS)
def test_each_heldout_case_is_well_formed(case: dict[str, Any]) -> None:
    assert case_problems(case, HELDOUT_DIR) == []


@pytest.mark.parametrize("case", RAW, ids=IDS)
def test_each_heldout_audio_lasts_what_is_recorded_and_one_to_three_minutes(
    case: dict[str, Any],
) -> None:
    assert audio_problems(case, HELDOUT_DIR) == []
    assert SECONDS[0] <= case["duration_seconds"] <= SECONDS[1]


@pytest.mark.parametrize("case", RAW, ids=IDS)
def test_each_heldout_script_is_a_one_to_three_minute_dictation(case: dict[str, Any]) -> None:
    assert WORDS[0] <= len(_script(case).split()) <= WORDS[1]


def test_the_heldout_set_covers_modalities_twice_formats_thrice_and_each_session_kind() -> None:
    assert heldout_coverage_problems(RAW) == []


def test_the_heldout_set_says_it_is_held_out() -> None:
    about = _data()["about"].lower()
    assert "held-out" in about and "never tuned on" in about and "scored separately" in about


def test_the_heldout_set_stays_small() -> None:
    size = sum(p.stat().st_size for p in HELDOUT_DIR.iterdir() if p.is_file())
    assert size <= MAX_SET_BYTES, f"{size} bytes"


def test_the_loader_reads_every_heldout_case_from_its_own_folder() -> None:
    cases = load_cases(HELDOUT_FILE)
    assert [c.id for c in cases] == IDS
    for case in cases:
        assert case.script_path.parent == HELDOUT_DIR == case.audio_path.parent
        assert len(case.expected) == len(split_sentences(case.script))


def test_the_heldout_set_shares_no_case_id_or_sentence_with_the_development_set() -> None:
    dev_ids = {c["id"] for c in json.loads(CASES_FILE.read_text())["cases"]}
    assert dev_ids.isdisjoint(IDS)
    assert shared_sentences(RAW) == []


NO_RISK = [c for c in RAW if not c["risk_addressed"]]


@pytest.mark.parametrize("case", NO_RISK, ids=[c["id"] for c in NO_RISK])
def test_heldout_scripts_without_risk_say_nothing_the_risk_detector_would_take_for_risk(
    case: dict[str, Any],
) -> None:
    """A case meant to test "not addressed in dictation" must not contain risk words at all."""
    assert [s.text for s in split_sentences(_script(case)) if is_risk_sentence(s)] == []


# The held-out checks above must be able to fail: each broken copy of the set is caught.


def test_a_heldout_case_read_against_another_folder_is_reported() -> None:
    assert case_problems(RAW[0], CASES_DIR) == [f"script {RAW[0]['script']} does not exist"]


def test_a_heldout_case_with_a_label_missing_is_reported() -> None:
    case = copy.deepcopy(RAW[0])
    case["expected_sections"].pop()
    assert case_problems(case, HELDOUT_DIR) != []


@pytest.mark.parametrize(
    ("dropped", "reported"),
    [
        ("cbt", "modality cbt has 1 cases, fewer than 2"),
        ("couples", "no couples session line (90847)"),
        ("group", "no group session line (90853)"),
    ],
)
def test_missing_heldout_coverage_is_reported(dropped: str, reported: str) -> None:
    codes = {"couples": COUPLES, "group": GROUP}
    if dropped in codes:
        kept = [c for c in RAW if not contains(words(_script(c)), codes[dropped])]
    else:
        first = next(c for c in RAW if c["modality"] == dropped)
        kept = [c for c in RAW if c is not first]
    assert reported in heldout_coverage_problems(kept)


def test_a_heldout_format_with_too_few_cases_is_reported() -> None:
    girp = [c for c in RAW if c["note_format"] == "girp"]
    kept = [c for c in RAW if c["note_format"] != "girp" or c is girp[0]]
    assert "note format girp has 1 cases, fewer than 3" in heldout_coverage_problems(kept)


def test_a_sentence_copied_from_the_development_set_is_reported(tmp_path: Path) -> None:
    dev_case = json.loads(CASES_FILE.read_text())["cases"][0]
    copied = split_sentences(_script(dev_case, CASES_DIR))[1].text
    case = copy.deepcopy(RAW[0])
    (tmp_path / case["script"]).write_text(f"{_script(case)} {copied}\n")
    assert shared_sentences([case], tmp_path) == [copied]

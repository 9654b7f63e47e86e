"""The probe sets (eval/probes/) are well-formed, and eval.probes scores them.

Fast: the splitter and the labels only, and one probe dictation drafted (the classifier)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.drafting.modalities import FIELDS
from appliance.drafting.segment import split_sentences
from appliance.records.dictations import MODALITIES, NOTE_FORMATS
from eval.cases import Case, load_cases
from eval.probes import main, misses, probe_sets, score_set

SECTIONS = {
    "soap": {"subjective", "objective", "assessment", "plan"},
    "dap": {"data", "assessment", "plan"},
    "birp": {"behavior", "intervention", "response", "plan"},
    "girp": {"goals", "intervention", "response", "plan"},
}
SETS = probe_sets()
CASES = [(name, case) for name, path in SETS.items() for case in load_cases(path)]


def test_there_is_a_probe_set() -> None:
    assert SETS, "eval/probes/ holds no set"


@pytest.mark.parametrize(("name", "case"), CASES, ids=[f"{n}-{c.id}" for n, c in CASES])
def test_a_probe_case_labels_every_sentence_and_every_field_of_its_modality(
    name: str, case: Case
) -> None:
    assert case.modality in MODALITIES and case.note_format in NOTE_FORMATS
    split = [s.text for s in split_sentences(case.script)]
    assert split == [e.sentence for e in case.expected]
    allowed = SECTIONS[case.note_format] | {"risk", "header"}
    assert {e.section for e in case.expected} <= allowed
    assert set(case.expected_fields) == set(FIELDS[case.modality])
    assert case.risk_addressed == any(e.section == "risk" for e in case.expected)


def test_probe_ids_are_unique_across_sets() -> None:
    ids = [case.id for _, case in CASES]
    assert len(ids) == len(set(ids))


def test_a_probe_draft_is_scored_and_its_misses_listed(tmp_path: Path) -> None:
    name, case = CASES[0]
    scored = score_set([case])
    assert len(scored[0].score.sentence_sections) == len(case.expected)
    # A label changed to a section nothing is placed in is a miss that names the sentence.
    folder = tmp_path / name
    folder.mkdir()
    data = json.loads(SETS[name].read_text())
    first = data["cases"][0]
    first["expected_sections"][0]["section"] = "plan-that-is-not"
    (folder / "cases.json").write_text(json.dumps({"cases": [first]}))
    (folder / first["script"]).write_text(case.script)
    wrong = misses(score_set(load_cases(folder / "cases.json")))
    assert any(first["expected_sections"][0]["sentence"] in line for line in wrong)


def test_the_report_prints_a_row_per_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in SETS:
        assert f"| {name} " in out

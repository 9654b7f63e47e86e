"""make eval's report per voice and variant (issue 14), on made-up transcripts (fast: no models)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from eval import long_dictation
from eval.asr import Heard
from eval.cases import load_cases
from eval.hearing import Hearing, LongHearing, summary_table, wer_matrix
from eval.llm import CountingClassifier
from eval.run import (
    PLACEMENT_TARGETS,
    audio_choice,
    draft_sources,
    fields_table,
    sources_table,
    targets_table,
    totals,
)
from eval.variants import VARIANTS

CASES = {c.id: c for c in load_cases()}


class _NoModel:
    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        return None


def _rows(markdown: str) -> list[list[str]]:
    return [[cell.strip() for cell in row.split("|")[1:-1]] for row in markdown.splitlines()[2:]]


def test_the_options_choose_voices_and_variants_and_refuse_unknown_ones() -> None:
    everything = audio_choice("espeak,piper", "tempo-0.9,tempo-1.1,noise-20db,phone-8k,long-20min")
    assert everything.voices == ("espeak", "piper")
    assert everything.variants == tuple(VARIANTS.values()) and everything.long
    assert everything.needs_sox and everything.needs_piper
    espeak_only = audio_choice("espeak", "none")
    assert espeak_only.variants == () and not espeak_only.long
    assert not espeak_only.needs_sox and not espeak_only.needs_piper
    assert audio_choice("piper", "long-20min").needs_sox
    with pytest.raises(ValueError, match="unknown variant"):
        audio_choice("piper", "speed-0.9")
    with pytest.raises(ValueError, match="unknown voice"):
        audio_choice("festival", "none")


def test_drafting_runs_on_each_voice_and_placement_has_its_own_target_per_source() -> None:
    case = CASES["emdr-01"]
    # The "Piper transcript" is the script as one run-on: every full stop a comma.
    run_on = case.script.replace(". ", ", ")
    transcripts = {
        "asr": {case.id: Heard(case.script, 1.0, 1.0)},
        "piper": {case.id: Heard(run_on, 1.0, 1.0)},
    }
    classifier = CountingClassifier(_NoModel())  # type: ignore[arg-type]
    results = draft_sources([case], transcripts, classifier, [])
    assert [r.source for r in results] == ["script", "asr", "piper"]
    by_source = {r.source: [r] for r in results}
    piper = totals(by_source["piper"])
    assert piper.statements < totals(by_source["script"]).statements  # the run-on
    table, failures = targets_table(by_source)
    header, *_ = table.splitlines()
    assert "script" in header and "espeak-ng voice" in header and "Piper voice" in header
    placement = next(row for row in _rows(table) if row[0].startswith("section placement"))
    share = piper.sentences_placed / piper.sentences
    assert placement[3] == f"{share:.3f} **{'PASS' if share >= 0.85 else 'FAIL'}**"
    assert "PASS" not in placement[2] and "FAIL" not in placement[2]  # espeak-ng: no target
    piper_failed = any("section placement" in f and "piper voice" in f for f in failures)
    assert piper_failed == (share < PLACEMENT_TARGETS["piper"])
    side_by_side = _rows(sources_table(by_source))
    assert [row[0] for row in side_by_side] == ["script", "espeak-ng", "Piper"]
    assert side_by_side[2][1] == f"{piper.statements}/{len(case.expected)}"
    assert _rows(fields_table(by_source))[0][0] == "emdr"
    assert len(_rows(fields_table(by_source))[0]) == 7  # modality + 2 columns per source


def test_the_summary_gives_wer_and_facts_per_audio_set_and_for_the_long_dictation() -> None:
    cases = [CASES["cbt-01"], CASES["emdr-01"]]
    perfect = {c.id: Heard(c.script, 40.0, 4.0) for c in cases}
    lost_half = {c.id: Heard(c.script[: len(c.script) // 2], 40.0, 2.0) for c in cases}
    hearings = [
        Hearing("piper", "Piper (neural)", perfect),
        Hearing("phone-8k", "Piper, telephone", lost_half, prepare_seconds=0.4, made=2),
    ]
    dictation = long_dictation.build(cases, {c.id: 600.0 for c in cases})
    long = LongHearing(dictation, Heard(dictation.script, 1200.0, 120.0), 35.0, True)
    rows = _rows(summary_table(cases, hearings, long))
    assert [row[0] for row in rows[:2]] == ["Piper (neural)", "Piper, telephone"]
    facts = sum(len(c.facts) for c in cases)
    assert rows[0][5] == "0.000" and rows[0][6] == f"{facts}/{facts} (1.000)"
    assert float(rows[1][5]) > 0.3 and rows[1][7] == "0.4 (2 made)"
    assert rows[2][0].startswith("Piper, one 20.0-minute dictation (2 scripts)")
    assert rows[2][5] == "0.000" and rows[2][6].endswith("(1.000)")
    matrix = _rows(wer_matrix(cases, hearings))
    assert matrix[0][0] == "cbt-01" and matrix[0][1] == "0.000" and float(matrix[0][2]) > 0.3


def test_the_held_out_set_is_chosen_by_name_and_is_another_set_than_the_development_one() -> None:
    from eval.cases import SETS
    from eval.run import _parser

    assert _parser().parse_args([]).set == "dev"
    assert _parser().parse_args(["--set", "heldout"]).set == "heldout"
    dev, heldout = load_cases(SETS["dev"]), load_cases(SETS["heldout"])
    assert len(heldout) >= 12
    assert not {c.id for c in dev} & {c.id for c in heldout}
    assert all(c.script_path.parent == SETS["heldout"].parent for c in heldout)


def test_suggestions_are_counted_per_voice_as_right_where_the_script_says_the_term() -> None:
    from eval.run import suggestions_table

    case = next(c for c in load_cases() if c.id == "psychodynamic-02")
    assert "sertraline" in case.script
    misheard = Heard(case.script.replace("sertraline", "certraline"), 60.0, 1.0)
    rows = _rows(suggestions_table([case], {"piper": {case.id: misheard}}))
    assert rows[0] == ["Piper", "1", "1", "0", "0"]
    assert ["Piper", case.id, "certraline", "sertraline", "right"] in rows


def test_placement_is_reported_per_labelled_section_for_every_source() -> None:
    from eval.run import section_accuracy_table

    case = CASES["emdr-01"]
    transcripts = {"piper": {case.id: Heard(case.script.replace(". ", ", "), 1.0, 1.0)}}
    results = draft_sources([case], transcripts, CountingClassifier(_NoModel()), [])  # type: ignore[arg-type]
    by_source = {r.source: [r] for r in results}
    rows = _rows(section_accuracy_table(by_source))
    labelled = {e.section for e in case.expected}
    assert {row[0] for row in rows} == labelled
    for row in rows:
        expected = sum(e.section == row[0] for e in case.expected)
        assert int(row[1]) == expected and int(row[3]) == expected
        assert 0.0 <= float(row[2]) <= 1.0

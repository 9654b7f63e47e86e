"""The evaluation's own measures, on hand-made drafts (fast: no models)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import pytest

from appliance.drafting.draft import Flag, Span, Statement, build_draft
from eval.align import align
from eval.asr import Heard
from eval.cases import Case, load_cases
from eval.llm import CountingClassifier, CountingWriter, llm_class_from_env
from eval.report import table
from eval.run import SOURCES, draft_all, rewrite_table
from eval.score import is_flagged, score_draft

CASES = {c.id: c for c in load_cases()}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_on_its_own_script_every_statement_aligns_with_its_own_sentence(case: Case) -> None:
    sentences = [e.sentence for e in case.expected]
    result = align(sentences, sentences)
    assert result.sentence_of_statement == list(range(len(sentences)))
    assert result.statement_of_sentence == list(range(len(sentences)))


def test_merged_and_lost_sentences_are_mapped_by_their_words() -> None:
    script = ["The PHQ-9 was 14.", "We reviewed the thought record.", "Next session is Monday."]
    heard = ["was fourteen we reviewed the thought record", "next session monday"]
    result = align(script, heard)
    assert result.sentence_of_statement == [1, 2]  # 5 words of sentence 1 against 2 of 0
    assert result.statement_of_sentence == [0, 0, 1]
    assert align(script, ["next session is monday"]).statement_of_sentence == [None, None, 0]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_draft_of_the_script_keeps_every_fact_cites_everything_and_handles_risk(
    case: Case,
) -> None:
    score = score_draft(case, build_draft(case.script, case.modality, case.note_format))
    assert score.fact_recall == 1.0
    assert score.without_provenance == 0
    assert score.invented_flagged == score.invented_unflagged == []
    assert score.risk_ok, score.risk_note
    assert len(score.placements) == len(score.sentence_sections) == len(case.expected)
    assert score.placement_accuracy == score.sentence_accuracy


def test_invented_content_is_found_and_counted_unflagged_when_nothing_flags_it() -> None:
    case = CASES["cbt-01"]  # must_not_appear includes "sertraline" and "20 milligrams"
    text = case.script + " The client also takes sertraline 20 mg."
    score = score_draft(case, build_draft(text, case.modality, case.note_format))
    assert score.invented_unflagged == ["sertraline", "20 milligrams"]
    assert score.fact_recall == 1.0


def test_an_item_is_flagged_by_an_ungrounded_flag_or_for_risk_by_the_risk_flag() -> None:
    case = CASES["cbt-02"]  # no risk dictated
    draft = build_draft(case.script, case.modality, case.note_format)
    assert not is_flagged("propranolol", draft)
    assert is_flagged("denies suicidal ideation", draft)  # risk_not_addressed is raised
    draft.flags.append(
        Flag("f99", "ungrounded", "Not in the cited dictation: 40, propranolol.", "plan")
    )
    assert is_flagged("propranolol", draft)
    assert is_flagged("propranolol 40 milligrams", draft)
    assert not is_flagged("sertraline", draft)


def test_statements_whose_spans_do_not_match_the_transcript_lack_provenance() -> None:
    case = CASES["act-01"]
    draft = build_draft(case.script, case.modality, case.note_format)
    key = next(k for k, v in draft.sections.items() if v)
    first = draft.sections[key][0]
    draft.sections[key][0] = dataclasses.replace(first, provenance=[])
    draft.sections[key].append(
        Statement(
            "s99", "The client is doing well.", [Span(0, 25, "The client is doing well.")], "cue"
        )
    )
    assert score_draft(case, draft).without_provenance == 2


def test_dictated_risk_that_the_transcript_lost_is_a_risk_failure() -> None:
    case = CASES["integrative-01"]
    text = case.script.replace("The client denies suicidal ideation and feels safe at home. ", "")
    score = score_draft(case, build_draft(text, case.modality, case.note_format))
    assert not score.risk_ok
    assert score.risk_note == "dictated risk lost; the draft says not addressed and flags it"
    assert "denies suicidal ideation" in score.facts_missing


def test_a_risk_statement_where_none_was_dictated_is_a_risk_failure() -> None:
    case = CASES["emdr-01"]
    text = case.script + " The client denies suicidal ideation."
    score = score_draft(case, build_draft(text, case.modality, case.note_format))
    assert not score.risk_ok
    assert score.invented_unflagged == ["denies suicidal ideation"]


def test_vocabulary_terms_the_dictation_did_not_say_are_reported_as_leaked() -> None:
    case = CASES["ifs-01"]
    text = case.script.replace("The GAD-7 was 9", "The DBT-7 was 9") + " SUD, IFS, IFS."
    vocabulary = ["CBT", "DBT", "IFS", "SUD", "PHQ-9", "exile"]
    score = score_draft(case, build_draft(text, case.modality, case.note_format), vocabulary)
    # The script says "internal family systems", never "IFS"; "exile" it does say.
    assert score.leaked_unflagged == ["DBT", "IFS", "SUD"]


def test_a_hint_term_whose_plural_was_dictated_is_not_a_leak() -> None:
    case = CASES["psychodynamic-01"]
    assert "Defenses" in case.script
    text = case.script.replace("Defenses today were", "Defense is today where")
    assert text != case.script
    score = score_draft(case, build_draft(text, case.modality, case.note_format), ["defense"])
    assert score.leaked_unflagged == []


def test_tables_are_markdown() -> None:
    lines = table(["case", "score"], [["a|b", 0.5], ["c", 1]]).splitlines()
    assert lines == [
        "| case | score |",
        "|------|------:|",
        "| a\\|b | 0.500 |",
        "| c    |     1 |",
    ]


class _StubClassifier:
    """No model: every sentence the cues do not place is placed by default."""

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None:
        return None


class _ThirdPerson:
    """A writer that says "the patient" for "the client" and drops every number."""

    def rewrite(self, sentence: str, section_title: str, modality: str) -> str | None:
        return re.sub(r"\d+", "", sentence.replace("The client", "The patient"))


def test_with_eval_llm_class_writer_the_rewrites_are_counted_per_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES["cbt-01"]
    writer = CountingWriter(_ThirdPerson())
    heard = {case.id: Heard(case.script, 1.0, 1.0)}
    classifier = CountingClassifier(_StubClassifier())  # type: ignore[arg-type]
    results = draft_all([case], heard, classifier, [], writer)
    reports = [r.rewrite for r in results]
    assert all(report is not None for report in reports) and writer.calls > 0
    by_source = {source: [r for r in results if r.source == source] for source in SOURCES}
    rows = rewrite_table(by_source).splitlines()[2:]
    assert len(rows) == 2 and all(row.split("|")[2].strip() != "0" for row in rows)
    assert sum(report["accepted"] for report in reports if report) > 0
    assert sum(report["rejected"] for report in reports if report) > 0  # numbers dropped
    monkeypatch.setenv("EVAL_LLM_CLASS", "writter")
    with pytest.raises(ValueError, match="EVAL_LLM_CLASS"):
        llm_class_from_env()
    monkeypatch.delenv("EVAL_LLM_CLASS")
    assert llm_class_from_env() == "router"

"""`make eval`: how good is the draft note, end to end, on the evaluation set (issue #5)?

For every case of tests/fixtures/eval/cases.json:
  (a) Whisper transcribes the audio in process (eval.asr), scored by WER against the script;
  (b) appliance.drafting.pipeline drafts the note as the appliance does, asking a real LLM
      (llama.cpp, started here as `model-server run --profile cpu`, or EVAL_LLM_URL) where the
      cues do not decide;
  (c) the draft is scored (eval.score): fact recall, statements without provenance, invented
      content (flagged or not), risk handling, section placement against the hand labels, and
      the modality fields (values, not sentences) against the labelled expected_fields.
(b) and (c) run twice, on the transcript and on the script itself, so that what Whisper loses
and what the drafting loses can be told apart. Placement is also given with the cues alone (no
model), to show what the model adds.

Prints Markdown tables and the issue's targets marked PASS or FAIL. A report, not a test: the
exit code is 0 whether or not the targets are met (2 when it cannot run at all).

Whisper gets each case's modality vocabulary, as the appliance's requests do.

Environment: EVAL_LLM_URL (an OpenAI-compatible base URL ending in /v1; nothing is started),
EVAL_LLM_MODEL (model id; default: the first one the server lists), EVAL_LLM_API_KEY,
EVAL_LLM_CLASS (`router`, the default, or `writer`: as APPLIANCE_LLM_CLASS, the model then also
rewrites every statement, (b) includes that stage, and a table counts the rewrites accepted and
rejected; meant for a capable model at EVAL_LLM_URL),
EVAL_LLM_THREADS (llama.cpp threads of the server started here; default 1, see eval.llm).
Whisper follows the MODEL_SERVER_* settings, whose defaults are the appliance's (bundled Whisper
base, beam 5, the vocabulary as faster-whisper hotwords): MODEL_SERVER_WHISPER_MODEL=tiny.en or
MODEL_SERVER_VOCABULARY_MODE=prompt, for example, compare other choices.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from appliance.drafting import pipeline
from appliance.drafting.rewrite import LLMStatementWriter
from appliance.drafting.router import LLMSectionClassifier
from appliance.drafting.vocabulary import speech_vocabulary
from appliance.inference.llm import LLMClient
from eval.asr import Heard, Transcriber
from eval.cases import Case, load_cases
from eval.llm import (
    CountingClassifier,
    CountingWriter,
    ModelServer,
    llm_class_from_env,
    served_model,
)
from eval.report import table, verdict
from eval.score import DraftScore, score_draft, shown
from eval.text import contains, words
from model_server.settings import load_model_server_settings
from model_server.wer import word_error_rate

FACT_RECALL_TARGET = 0.95
FIELDS_TARGET = 0.90  # issue 14: modality fields that hold the right value
SOURCES = ("script", "asr")
SOURCE_TITLES = {
    "script": "Draft from the script (perfect transcription)",
    "asr": "Draft from the Whisper transcript (end to end)",
}


@dataclass
class Result:
    case: Case
    source: str  # "script" or "asr"
    text: str
    score: DraftScore
    cue_only: DraftScore
    model_calls: int
    model_no_answer: int
    draft_seconds: float
    rewrite: dict[str, Any] | None = None  # Draft.rewrite: what the writer stage did, if it ran


def hint_terms(vocabulary: str) -> list[str]:
    return [term.strip() for term in vocabulary.split(",") if term.strip()]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def draft_all(
    cases: Sequence[Case],
    heard: dict[str, Heard],
    classifier: CountingClassifier,
    server_vocabulary: Sequence[str],
    writer: CountingWriter | None = None,
) -> list[Result]:
    results = []
    for case in cases:
        # Leaks are looked for among every term Whisper could have been hinted with: the
        # modality's list the appliance sends and the server's own list.
        vocabulary = [*hint_terms(speech_vocabulary(case.modality)), *server_vocabulary]
        for source in SOURCES:
            text = case.script if source == "script" else heard[case.id].text
            calls, no_answer = classifier.calls, classifier.no_answer
            started = time.perf_counter()
            draft = pipeline.draft(text, case.modality, case.note_format, classifier, writer)
            elapsed = time.perf_counter() - started
            cue_only = pipeline.draft(text, case.modality, case.note_format, None)
            results.append(
                Result(
                    case=case,
                    source=source,
                    text=text,
                    score=score_draft(case, draft, vocabulary),
                    cue_only=score_draft(case, cue_only, vocabulary),
                    model_calls=classifier.calls - calls,
                    model_no_answer=classifier.no_answer - no_answer,
                    draft_seconds=elapsed,
                    rewrite=draft.rewrite,
                )
            )
    return results


def asr_table(cases: Sequence[Case], heard: dict[str, Heard]) -> tuple[str, float, float]:
    rows: list[list[object]] = []
    rates, found, total = [], 0, 0
    for case in cases:
        h = heard[case.id]
        rate = word_error_rate(case.script, h.text)
        transcript_words = words(h.text)
        hits = sum(contains(transcript_words, f) for f in case.facts)
        rates.append(rate)
        found, total = found + hits, total + len(case.facts)
        rows.append(
            [
                case.id,
                f"{h.audio_seconds:.1f}",
                f"{h.wall_seconds:.2f}",
                f"{h.wall_seconds / h.audio_seconds:.3f}",
                rate,
                f"{hits}/{len(case.facts)}",
            ]
        )
    audio = sum(heard[c.id].audio_seconds for c in cases)
    wall = sum(heard[c.id].wall_seconds for c in cases)
    mean_wer = sum(rates) / len(rates)
    rows.append(
        [
            "**total**",
            f"{audio:.1f}",
            f"{wall:.2f}",
            f"{wall / audio:.3f}",
            f"{mean_wer:.3f} (mean)",
            f"{found}/{total} ({_ratio(found, total):.3f})",
        ]
    )
    headers = ["case", "audio s", "transcribe s", "RTF", "WER", "facts in transcript"]
    return table(headers, rows), mean_wer, _ratio(found, total)


@dataclass(frozen=True)
class Totals:
    facts_found: int
    facts_total: int
    without_provenance: int
    invented_unflagged: int
    invented_flagged: int
    leaked_unflagged: int
    leaked_flagged: int
    risk_ok: int
    cases: int
    placed: int
    statements: int
    cue_placed: int
    cue_statements: int
    sentences_placed: int
    sentences: int
    polarity_flags: int
    fields_correct: int = 0
    fields_total: int = 0

    @property
    def fact_recall(self) -> float:
        return _ratio(self.facts_found, self.facts_total)

    @property
    def field_accuracy(self) -> float:
        return _ratio(self.fields_correct, self.fields_total)


def totals(results: Sequence[Result]) -> Totals:
    return Totals(
        facts_found=sum(len(r.score.facts_found) for r in results),
        facts_total=sum(len(r.case.facts) for r in results),
        without_provenance=sum(r.score.without_provenance for r in results),
        invented_unflagged=sum(len(r.score.invented_unflagged) for r in results),
        invented_flagged=sum(len(r.score.invented_flagged) for r in results),
        leaked_unflagged=sum(len(r.score.leaked_unflagged) for r in results),
        leaked_flagged=sum(len(r.score.leaked_flagged) for r in results),
        risk_ok=sum(r.score.risk_ok for r in results),
        cases=len(results),
        placed=sum(r.score.placed_correctly for r in results),
        statements=sum(len(r.score.placements) for r in results),
        cue_placed=sum(r.cue_only.placed_correctly for r in results),
        cue_statements=sum(len(r.cue_only.placements) for r in results),
        sentences_placed=sum(r.score.sentences_placed_correctly for r in results),
        sentences=sum(len(r.score.sentence_sections) for r in results),
        polarity_flags=sum(r.score.flags.get("risk_polarity_unclear", 0) for r in results),
        fields_correct=sum(r.score.fields_correct for r in results),
        fields_total=sum(len(r.score.fields) for r in results),
    )


def draft_table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = []
    for r in results:
        s = r.score
        rows.append(
            [
                r.case.id,
                r.case.note_format,
                f"{s.statements}/{len(r.case.expected)}",
                f"{r.model_calls}" + (f" ({r.model_no_answer} none)" if r.model_no_answer else ""),
                f"{s.fact_recall:.3f}",
                s.without_provenance,
                len(s.invented_unflagged),
                len(s.invented_flagged),
                f"{len(s.leaked_unflagged)}/{len(s.leaked_flagged)}",
                ("ok" if s.risk_ok else "WRONG") + (" (risk)" if r.case.risk_addressed else ""),
                f"{s.placement_accuracy:.3f}",
                f"{r.cue_only.placement_accuracy:.3f}",
                f"{s.sentence_accuracy:.3f}",
                f"{r.draft_seconds:.1f}",
            ]
        )
    t = totals(results)
    rows.append(
        [
            "**total**",
            "",
            f"{t.statements}/{sum(len(r.case.expected) for r in results)}",
            sum(r.model_calls for r in results),
            f"{t.fact_recall:.3f} ({t.facts_found}/{t.facts_total})",
            t.without_provenance,
            t.invented_unflagged,
            t.invented_flagged,
            f"{t.leaked_unflagged}/{t.leaked_flagged}",
            f"{t.risk_ok}/{t.cases} ok",
            f"{_ratio(t.placed, t.statements):.3f} ({t.placed}/{t.statements})",
            f"{_ratio(t.cue_placed, t.cue_statements):.3f}",
            f"{_ratio(t.sentences_placed, t.sentences):.3f} ({t.sentences_placed}/{t.sentences})",
            f"{sum(r.draft_seconds for r in results):.1f}",
        ]
    )
    headers = [
        "case",
        "format",
        "statements/script sentences",
        "model calls",
        "fact recall",
        "no provenance",
        "invented, unflagged",
        "invented, flagged",
        "vocabulary leaked, unflagged/flagged",
        "risk",
        "placement",
        "placement, cues only",
        "placement per script sentence",
        "draft s",
    ]
    return table(headers, rows, numeric_from=2)


def targets_table(by_source: dict[str, list[Result]]) -> tuple[str, list[str]]:
    failures: list[str] = []
    checks: list[tuple[str, Callable[[Totals], tuple[str, bool]]]] = [
        (
            f"fact recall >= {FACT_RECALL_TARGET}",
            lambda t: (f"{t.fact_recall:.3f}", t.fact_recall >= FACT_RECALL_TARGET),
        ),
        (
            "zero unflagged invented content",
            lambda t: (str(t.invented_unflagged), t.invented_unflagged == 0),
        ),
        (
            "zero statements without provenance",
            lambda t: (str(t.without_provenance), t.without_provenance == 0),
        ),
        (
            f"modality fields correct >= {FIELDS_TARGET:.2f} (issue 14)",
            lambda t: (f"{t.field_accuracy:.3f}", t.field_accuracy >= FIELDS_TARGET),
        ),
        (
            "(also checked) no unflagged vocabulary-hint term the dictation did not say",
            lambda t: (str(t.leaked_unflagged), t.leaked_unflagged == 0),
        ),
        (
            "(also checked) risk handled in every case: placeholder + flag, or risk statements",
            lambda t: (f"{t.risk_ok}/{t.cases}", t.risk_ok == t.cases),
        ),
    ]
    rows: list[list[object]] = []
    sums = {source: totals(results) for source, results in by_source.items()}
    for name, check in checks:
        row: list[object] = [name]
        for source in SOURCES:
            value, ok = check(sums[source])
            row.append(f"{value} **{verdict(ok)}**")
            if not ok:
                failures.append(f"{name}: {value} ({SOURCE_TITLES[source].lower()})")
        rows.append(row)
    headers = ["target", "script (perfect transcription)", "Whisper transcript (end to end)"]
    return table(headers, rows), failures


def fields_table(by_source: dict[str, list[Result]]) -> str:
    """Per modality and overall: labelled fields whose draft values are exactly the labels."""
    modalities = sorted({r.case.modality for results in by_source.values() for r in results})
    rows: list[list[object]] = []
    for modality in [*modalities, None]:
        row: list[object] = [modality or "**overall**"]
        for source in SOURCES:
            chosen = [r for r in by_source.get(source, []) if modality in (None, r.case.modality)]
            t = totals(chosen)
            row += [f"{t.fields_correct}/{t.fields_total}", f"{t.field_accuracy:.3f}"]
        rows.append(row)
    headers = ["modality", "script", "script accuracy", "ASR", "ASR accuracy"]
    return table(headers, rows)


def wrong_fields_table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = [
        [
            r.case.id,
            r.source,
            f.name,
            "; ".join(shown(k) for k in f.expected) or "(empty)",
            _short("; ".join(shown(k) for k in f.got) or "(empty)"),
        ]
        for r in results
        for f in r.score.fields
        if not f.correct
    ]
    if not rows:
        return "none"
    return table(["case", "from", "field", "expected", "draft"], rows, numeric_from=99)


def lost_facts_table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = []
    for r in results:
        transcript_words = words(r.text)
        for fact in r.score.facts_missing:
            where = "drafting" if contains(transcript_words, fact) else "ASR"
            rows.append([r.case.id, r.source, fact, where])
    if not rows:
        return "none"
    return table(["case", "from", "fact", "lost in"], rows, numeric_from=99)


def invented_table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = []
    for r in results:
        for item in r.score.invented_unflagged:
            rows.append([r.case.id, r.source, item, "UNFLAGGED"])
        for item in r.score.invented_flagged:
            rows.append([r.case.id, r.source, item, "flagged"])
        for item in r.score.leaked_unflagged:
            rows.append([r.case.id, r.source, f"{item} (vocabulary hint)", "UNFLAGGED"])
        for item in r.score.leaked_flagged:
            rows.append([r.case.id, r.source, f"{item} (vocabulary hint)", "flagged"])
    if not rows:
        return "none"
    return table(["case", "from", "item", "flag"], rows, numeric_from=99)


def risk_table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = [
        [r.case.id, r.source, "yes" if r.case.risk_addressed else "no", r.score.risk_note]
        for r in results
        if not r.score.risk_ok
    ]
    if not rows:
        return "none"
    return table(["case", "from", "risk dictated", "problem"], rows, numeric_from=99)


def confusion_table(by_source: dict[str, list[Result]]) -> str:
    counts = {
        source: Counter(
            (expected, placed or "(lost)")
            for r in results
            for expected, placed in r.score.sentence_sections
            if expected != placed
        )
        for source, results in by_source.items()
    }
    pairs = sorted(
        set(counts["script"]) | set(counts["asr"]),
        key=lambda pair: (-(counts["script"][pair] + counts["asr"][pair]), pair),
    )
    rows = [[e, g, counts["script"][(e, g)], counts["asr"][(e, g)]] for e, g in pairs]
    if not rows:
        return "none"
    return table(["expected", "placed in", "script", "ASR"], rows, numeric_from=2)


def routing_table(by_source: dict[str, list[Result]]) -> str:
    rows: list[list[object]] = []
    for source in SOURCES:
        tally: dict[str, list[int]] = {}
        for r in by_source[source]:
            for p in r.score.placements:
                entry = tally.setdefault(p.routed_by, [0, 0])
                entry[0] += 1
                entry[1] += p.correct
        for how in ("cue", "model", "default"):
            n, ok = tally.get(how, [0, 0])
            rows.append([source, how, n, ok, f"{_ratio(ok, n):.3f}"])
    return table(["from", "section chosen by", "statements", "correct", "accuracy"], rows, 2)


def format_table(by_source: dict[str, list[Result]]) -> str:
    rows: list[list[object]] = []
    for note_format in ("soap", "dap", "birp", "girp"):
        row: list[object] = [note_format]
        for source in SOURCES:
            chosen = [r for r in by_source[source] if r.case.note_format == note_format]
            t = totals(chosen)
            row += [
                f"{_ratio(t.placed, t.statements):.3f}",
                f"{_ratio(t.cue_placed, t.cue_statements):.3f}",
                f"{_ratio(t.sentences_placed, t.sentences):.3f}",
            ]
        rows.append(row)
    headers = [
        "format",
        "script",
        "script, cues only",
        "script, per sentence",
        "ASR",
        "ASR, cues only",
        "ASR, per script sentence",
    ]
    return table(headers, rows)


def misplaced_table(results: Sequence[Result]) -> str:
    rows: list[list[object]] = [
        [r.case.id, _short(p.text), p.expected, p.section, p.routed_by]
        for r in results
        for p in r.score.placements
        if not p.correct
    ]
    if not rows:
        return "none"
    return table(["case", "sentence", "expected", "placed", "by"], rows, numeric_from=99)


REWRITE_COUNTS = ("accepted", "unchanged", "rejected", "no_answer")


def rewrite_table(by_source: dict[str, list[Result]]) -> str:
    """Per source: what the writer stage did to the statements, and why it rejected rewrites."""
    reasons = ("form", "invented", "dropped", "polarity")
    rows: list[list[object]] = []
    for source in SOURCES:
        reports = [r.rewrite for r in by_source.get(source, []) if r.rewrite is not None]
        counts = {k: sum(int(report[k]) for report in reports) for k in REWRITE_COUNTS}
        why = {k: sum(int(report["reasons"].get(k, 0)) for report in reports) for k in reasons}
        total = sum(counts.values())
        rows.append(
            [
                source,
                total,
                f"{counts['accepted']} ({_ratio(counts['accepted'], total):.3f})",
                counts["unchanged"],
                counts["rejected"],
                *[why[k] for k in reasons],
                counts["no_answer"],
                sum(bool(report["writer_unavailable"]) for report in reports),
            ]
        )
    headers = [
        "from",
        "statements",
        "rewritten (accepted)",
        "unchanged",
        "rejected",
        "form",
        "invented",
        "dropped",
        "polarity",
        "no answer",
        "drafts with writer down",
    ]
    return table(headers, rows, numeric_from=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.run", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", help="comma-separated case ids (default: all)")
    args = parser.parse_args(argv)
    wall_started = time.perf_counter()
    cases = load_cases()
    if args.cases:
        wanted = set(args.cases.split(","))
        unknown = wanted - {c.id for c in cases}
        if unknown:
            print(f"eval: unknown case(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.id in wanted]

    try:
        llm_class = llm_class_from_env()
    except ValueError as exc:
        print(f"eval: cannot run: {exc}", file=sys.stderr)
        return 2
    llm_url = os.environ.get("EVAL_LLM_URL", "")
    api_key = os.environ.get("EVAL_LLM_API_KEY", "")
    server = None if llm_url else ModelServer()
    try:
        if server is not None:
            api_key = api_key or os.environ.get("MODEL_SERVER_API_KEY", "")
            server.start()  # llama.cpp loads while Whisper works
        settings = load_model_server_settings()
        transcriber = Transcriber(settings)
        heard = {case.id: transcriber.hear(case.audio_path, case.modality) for case in cases}
        if server is not None:
            llm_url = server.llm_url()
        model = os.environ.get("EVAL_LLM_MODEL") or served_model(llm_url, api_key)
        llm = LLMClient(llm_url, model, api_key)
        classifier = CountingClassifier(LLMSectionClassifier(llm))
        writer = CountingWriter(LLMStatementWriter(llm)) if llm_class == "writer" else None
        drafting_started = time.perf_counter()
        results = draft_all(cases, heard, classifier, hint_terms(settings.vocabulary), writer)
        drafting_s = time.perf_counter() - drafting_started
    except (RuntimeError, OSError, ValueError, httpx.HTTPError) as exc:
        print(f"eval: cannot run: {exc}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            server.stop()
    by_source = {source: [r for r in results if r.source == source] for source in SOURCES}

    out: list[str] = []
    say = out.append
    say("# Draft note quality (issue #5)\n")
    modalities = sorted({c.modality for c in cases})
    formats = sorted({c.note_format for c in cases})
    say(
        f"{len(cases)} cases ({', '.join(modalities)}; {', '.join(formats)}), "
        f"{sum(heard[c.id].audio_seconds for c in cases):.0f} s of espeak-ng speech, "
        f"{sum(len(c.expected) for c in cases)} script sentences, "
        f"{sum(len(c.facts) for c in cases)} facts, "
        f"{sum(len(c.must_not_appear) for c in cases)} must-not-appear items; "
        f"{sum(c.risk_addressed for c in cases)} cases dictate risk, "
        f"{sum(not c.risk_addressed for c in cases)} do not.\n"
    )
    say(
        f"- Whisper: faster-whisper on `{transcriber.model_dir.name}` "
        f"({transcriber.model_dir.parent.name}), beam {transcriber.beam_size}, "
        f"vocabulary: the dictation's modality terms (appliance.drafting.vocabulary) as "
        f"{transcriber.vocabulary_use}, VAD: {'on' if transcriber.vad else 'off'}"
    )
    started_here = (
        f"started here: model-server run --profile cpu, {server.threads} thread(s)"
        if server
        else "EVAL_LLM_URL"
    )
    say(f"- Section router: `{model}` at {llm_url} ({started_here})")
    say(
        f"- Statement writer (EVAL_LLM_CLASS={llm_class}): "
        + ("the same model rewrites every statement" if writer else "none; statements verbatim")
    )
    say(f"- Host: {os.cpu_count()} CPU cores\n")

    say("## Speech recognition\n")
    asr_md, _mean_wer, _heard_recall = asr_table(cases, heard)
    say(asr_md + "\n")
    for source in SOURCES:
        say(f"## {SOURCE_TITLES[source]}\n")
        say(draft_table(by_source[source]) + "\n")
    say(
        "statements/script sentences: statements in the draft against sentences in the script "
        "(Whisper's full stops decide the transcript's sentences). placement: share of draft "
        "statements whose section is the hand-labelled section of the script sentence they "
        "align with (eval/align.py); cues only: the same drafting with no model; per script "
        "sentence: share of script sentences whose words ended in a statement of the right "
        "section (a sentence Whisper merged into a neighbour's statement takes that "
        "statement's section; one it lost counts as wrong). vocabulary leaked: terms of "
        "MODEL_SERVER_VOCABULARY in the draft that the script does not contain.\n"
    )
    if writer is not None:
        say("## Rewriting (EVAL_LLM_CLASS=writer)\n")
        say(rewrite_table(by_source) + "\n")
        say(
            "rewritten: statements now in the model's words (appliance.drafting.faithful accepted "
            "them); unchanged: the model gave the sentence back; rejected: the check kept the "
            "clinician's sentence (form: empty, too long, heading or list; invented: a specific, "
            "score, risk topic, negation or content word not dictated; dropped: a dictated fact "
            "or content word missing; "
            "polarity: a risk statement's negation changed); no answer: nothing usable came back. "
            "Fact recall and invention above are measured on the rewritten drafts.\n"
        )
    say("## Modality fields (issue 14)\n")
    say(fields_table(by_source) + "\n")
    say(
        "A field is correct when the draft holds exactly its labelled values (expected_fields "
        "in cases.json; numbers and words after normalisation, in any order), or nothing where "
        "the script does not mention it; a negated field must be marked not done.\n"
    )
    say("## Targets (issue #5, issue 14)\n")
    targets_md, failures = targets_table(by_source)
    say(targets_md + "\n")
    polarity = {source: totals(results).polarity_flags for source, results in by_source.items()}
    say(
        'Risk statements flagged as neither denying nor reporting (a spoken "denies" is '
        f"often misheard): {polarity['asr']} end to end, {polarity['script']} on the scripts "
        "(false alarms).\n"
    )
    say("## Where the losses are\n")
    say("### Facts missing from the draft\n")
    say(lost_facts_table(results) + "\n")
    say("### Invented content (must_not_appear items and undictated vocabulary terms)\n")
    say(invented_table(results) + "\n")
    say("### Modality fields wrong\n")
    say(wrong_fields_table(results) + "\n")
    say("### Risk handling failures\n")
    say(risk_table(results) + "\n")
    say("### Section placement by format\n")
    say(format_table(by_source) + "\n")
    say("### Placement by how the section was chosen\n")
    say(routing_table(by_source) + "\n")
    say("### Misplacements per script sentence (expected -> placed)\n")
    say(confusion_table(by_source) + "\n")
    say("### Misplaced sentences, drafting from the script\n")
    say(misplaced_table(by_source["script"]) + "\n")

    say("## Timings\n")
    timing_rows: list[list[object]] = []
    if server is not None:
        timing_rows.append(["model server ready (llm), from start", f"{server.ready_after_s:.1f}"])
    timing_rows += [
        ["Whisper load", f"{transcriber.load_seconds:.1f}"],
        ["transcription, all cases", f"{sum(h.wall_seconds for h in heard.values()):.1f}"],
        ["drafting, all cases, script + ASR", f"{drafting_s:.1f}"],
        [
            f"  of which {classifier.calls} model calls ({classifier.no_answer} unanswered)",
            f"{classifier.seconds:.1f}",
        ],
    ]
    if writer is not None:
        timing_rows.append(
            [
                f"  of which {writer.calls} writer calls ({writer.no_answer} unanswered)",
                f"{writer.seconds:.1f}",
            ]
        )
    timing_rows.append(["total wall time", f"{time.perf_counter() - wall_started:.1f}"])
    say(table(["step", "s"], timing_rows) + "\n")
    if failures:
        say("## FAILED\n")
        for failure in failures:
            say(f"- FAIL: {failure}")
        say("")
    else:
        say("All targets met.\n")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

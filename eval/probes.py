"""The probe sets (eval/probes/<set>/cases.json): dictations written for one stop of issue 14 by
someone who had not read the evaluation sets, in styles those sets lack, and then tuned on.

They measure nothing unseen any more; they are kept so that a later change to the drafting can
be checked against every style met so far, in seconds: each case is drafted from its script
with the classifier and the cues (no language model, no audio) and scored as `make eval`
scores a draft (placement per script sentence, modality fields, risk). `make eval` prints
this table after the two evaluation sets; `python -m eval.probes --misses` lists what each
draft got wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.drafting import pipeline
from appliance.drafting.vocabulary import speech_vocabulary
from eval.cases import Case, load_cases
from eval.report import table
from eval.run import hint_terms
from eval.score import DraftScore, score_draft

PROBES_DIR = Path(__file__).resolve().parent / "probes"


def probe_sets(folder: Path = PROBES_DIR) -> dict[str, Path]:
    """Set name -> its cases.json, in name order."""
    return {p.parent.name: p for p in sorted(folder.glob("*/cases.json"))}


@dataclass(frozen=True)
class Scored:
    case: Case
    score: DraftScore


def score_set(cases: Sequence[Case]) -> list[Scored]:
    scored = []
    for case in cases:
        draft = pipeline.draft(case.script, case.modality, case.note_format, None)
        vocabulary = hint_terms(speech_vocabulary(case.modality))
        scored.append(Scored(case, score_draft(case, draft, vocabulary)))
    return scored


def _row(name: str, scored: Sequence[Scored]) -> list[str]:
    sentences = sum(len(s.score.sentence_sections) for s in scored)
    placed = sum(s.score.sentences_placed_correctly for s in scored)
    fields = sum(len(s.score.fields) for s in scored)
    right = sum(s.score.fields_correct for s in scored)
    risk = sum(s.score.risk_ok for s in scored)
    return [
        name,
        str(len(scored)),
        f"{placed}/{sentences} ({placed / sentences:.3f})" if sentences else "-",
        f"{right}/{fields} ({right / fields:.3f})" if fields else "-",
        f"{risk}/{len(scored)}",
    ]


def misses(scored: Sequence[Scored]) -> list[str]:
    """One line per misplaced sentence, wrong field and unhandled risk."""
    lines = []
    for item in scored:
        case, score = item.case, item.score
        for (expected, placed), sentence in zip(
            score.sentence_sections, case.expected, strict=True
        ):
            if expected != placed:
                lines.append(
                    f"{case.id} placed {placed} (labelled {expected}): {sentence.sentence}"
                )
        for result in score.fields:
            if not result.correct:
                lines.append(
                    f"{case.id} field {result.name}: {result.got} (labelled {result.expected})"
                )
        if not score.risk_ok:
            lines.append(f"{case.id} risk: {score.risk_note}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.probes", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--misses", action="store_true", help="list what each draft got wrong")
    args = parser.parse_args(argv)
    sets = probe_sets()
    if not sets:
        print(f"eval.probes: no probe sets under {PROBES_DIR}", file=sys.stderr)
        return 2
    rows, wrong = [], []
    for name, path in sets.items():
        scored = score_set(load_cases(path))
        rows.append(_row(name, scored))
        wrong.extend(misses(scored))
    print("# Probe sets (tuned on; scripts, classifier and cues, no model)\n")
    print(table(["set", "dictations", "placement", "fields", "risk handled"], rows))
    if args.misses:
        print("\n" + "\n".join(wrong))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

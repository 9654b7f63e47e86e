"""The writer stage: a capable model rewrites each statement into concise clinical third person.

Runs after build_draft, and only when `APPLIANCE_LLM_CLASS=writer` says the configured model is
capable (the bundled SmolLM2-135M is not: it drops facts when asked to write). Every statement
keeps its section and its provenance; only its text may change, and only when
appliance.drafting.faithful accepts the rewrite. Otherwise, and whenever the model does not answer,
the clinician's sentence stays as it is: the writer can make the prose better, never the facts
worse, and a writer that is down never fails a draft.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from appliance.drafting.deadline import Deadline
from appliance.drafting.draft import RISK, Draft, Statement
from appliance.drafting.faithful import Rejection, rejection
from appliance.drafting.language_model import LanguageModel, ModelUnavailable, NoUsableAnswer

logger = logging.getLogger("appliance.drafting")
# Shorter than the router's patience: a writer that stalls costs one wait per draft (the stage
# stops asking after it), and the draft is complete without it.
PATIENCE_SECONDS = 60.0
SYSTEM_PROMPT = (
    "You turn one sentence of a therapist's dictation into one concise sentence of a clinical "
    'progress note, written in the third person ("the client", "the clinician"). It goes '
    'in the "{section}" section of a {modality} note. Keep every fact exactly: every number '
    "as it is written (do not turn words into digits or digits into words), every scale, "
    "score, medication, dose, date and name, and every negation or denial (no, not, denies, "
    "without, never). Add nothing the sentence does not say: no diagnosis, no risk statement, "
    'no interpretation, no heading, no list. Answer as JSON: {{"text": "..."}}.'
)
TEXT_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
    "additionalProperties": False,
}


class StatementWriter(Protocol):
    """Rewrites one dictated sentence (None: no usable answer for this sentence). Raises
    ModelUnavailable when the model stops answering: the stage then stops asking."""

    def rewrite(self, sentence: str, section_title: str, modality: str) -> str | None: ...


class LLMStatementWriter:
    """The configured language model (the router's), asked to write."""

    def __init__(self, llm: LanguageModel, patience: float = PATIENCE_SECONDS) -> None:
        self.llm = llm
        self.patience = patience

    def rewrite(self, sentence: str, section_title: str, modality: str) -> str | None:
        try:
            answer = self.llm.complete_json(
                SYSTEM_PROMPT.format(section=section_title, modality=modality),
                sentence,
                schema_name="statement",
                schema=TEXT_SCHEMA,
                # Bounded: an accepted rewrite is at most ~2x the sentence (faithful.MAX_GROWTH),
                # and a token is rarely shorter than two characters, so this leaves room for one.
                max_tokens=64 + len(sentence),
                patience=self.patience,
            )
        except NoUsableAnswer as exc:
            # One unusable answer (bad JSON, cut off by max_tokens): keep this sentence as
            # dictated and go on with the next. Only the exception type is logged: no PHI.
            logger.warning("statement writer gave no usable answer: %s", exc)
            return None
        text = answer.get("text")
        return text if isinstance(text, str) else None


@dataclass
class RewriteReport:
    """What the writer stage did to one draft; `Draft.as_json()["rewrite"]`."""

    accepted: int = 0  # statements now in the model's words
    rejected: int = 0  # rewrites the check refused; the clinician's sentence was kept
    unchanged: int = 0  # the model gave the sentence back as it was
    no_answer: int = 0  # the model gave nothing usable, or was not reached; sentence kept
    reasons: dict[str, int] = field(default_factory=dict)  # rejected, by Rejection value
    writer_unavailable: bool = False  # the model stopped answering; the rest was not asked
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "llm_class": "writer",
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unchanged": self.unchanged,
            "no_answer": self.no_answer,
            "reasons": dict(self.reasons),
            "writer_unavailable": self.writer_unavailable,
            "seconds": round(self.seconds, 4),
        }


def rewrite_draft(
    draft: Draft, writer: StatementWriter, *, deadline: Deadline | None = None
) -> Draft:
    """`draft` with each statement rewritten where the check accepts it; never raises for the
    writer's sake. The report is in the returned draft's `rewrite`. Past `deadline` the writer
    is not asked again, as when it stops answering: the draft is complete without it."""
    started = time.perf_counter()
    report = RewriteReport()
    sections: dict[str, list[Statement]] = {}
    for key, statements in draft.sections.items():
        sections[key] = []
        title = draft.title_of(key)
        for statement in statements:
            written = None
            if not report.writer_unavailable and deadline is not None and deadline.passed():
                report.writer_unavailable = True
                logger.warning("statement writer stopped at the drafting time limit")
            if not report.writer_unavailable:
                written = _ask(writer, statement.text, title, draft.modality, report)
            sections[key].append(_decide(statement, written, key == RISK, report))
    report.seconds = time.perf_counter() - started
    logger.info(
        "rewrite: %d accepted, %d rejected, %d unchanged, %d without answer",
        report.accepted,
        report.rejected,
        report.unchanged,
        report.no_answer,
    )
    timings = draft.timings | {"rewriting": round(report.seconds, 4)}
    return replace(draft, sections=sections, rewrite=report.as_json(), timings=timings)


def _ask(
    writer: StatementWriter, sentence: str, title: str, modality: str, report: RewriteReport
) -> str | None:
    try:
        return writer.rewrite(sentence, title, modality)
    except Exception as exc:  # ModelUnavailable or anything else: the draft must not fail
        report.writer_unavailable = True
        # ModelUnavailable's message is ours (an exception type or an HTTP status); of any other
        # exception only the type is logged, since its message could quote the sentence.
        why = str(exc) if isinstance(exc, ModelUnavailable) else type(exc).__name__
        logger.warning("statement writer unavailable (%s); the rest stays verbatim", why)
        return None


def _decide(
    statement: Statement, written: str | None, risk: bool, report: RewriteReport
) -> Statement:
    if written is None:
        report.no_answer += 1
        return statement
    written = written.strip()
    if written == statement.text.strip():
        report.unchanged += 1
        return statement
    # Checked against the cited dictation, not the statement text: the span is what the
    # clinician said, and provenance is what the page shows next to the statement.
    cited = " ".join(span.text for span in statement.provenance)
    why: Rejection | None = rejection(cited, written, risk=risk)
    if why is not None:
        report.rejected += 1
        report.reasons[why.value] = report.reasons.get(why.value, 0) + 1
        return statement
    report.accepted += 1
    source = statement.source_text or statement.text  # the clinician's, even if run twice
    return replace(statement, text=written, written_by="model", source_text=source)

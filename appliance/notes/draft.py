"""Drafting a progress note from a transcript, so that no fact can be dropped or invented.

With a weak model (the zero-config SmolLM2-135M) the note is built from the clinician's own
sentences: every sentence of the dictation becomes a statement in exactly one section, citing
its span. Deterministic cues choose the section; the model is asked only when the cues do not
decide, and only to pick a section name from a fixed list (schema-constrained). A model can
therefore misplace a sentence, but never drop, alter or invent one. Rewriting into clinical
prose is for a capable model: a later stage (appliance.notes.rewrite), whose rewrites enter
the draft only when appliance.notes.faithful accepts them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from appliance.notes.formats import FORMATS, NoteFormat
from appliance.notes.grounding import implausible_scores, ungrounded
from appliance.notes.modalities import FieldValue, extract_fields
from appliance.notes.risk import NOT_ADDRESSED, is_risk_sentence, polarity_unclear
from appliance.notes.segment import Sentence, split_sentences

RISK = "risk"
RISK_TITLE = "Risk"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Statement:
    text: str
    provenance: list[Span]
    routed_by: str  # "cue", "model" or "default": how its section was chosen
    # "clinician": `text` is the dictated sentence itself; "model": a capable model's rewrite
    # that appliance.notes.faithful accepted, and `source_text` is the sentence it replaced.
    written_by: str = "clinician"
    source_text: str | None = None


@dataclass(frozen=True)
class Flag:
    # risk_not_addressed | risk_polarity_unclear | ungrounded | unplaced | implausible_score
    code: str
    message: str
    section: str | None = None


@dataclass
class Draft:
    transcript: str
    modality: str
    note_format: str
    sections: dict[str, list[Statement]]
    placeholders: dict[str, str]
    fields: dict[str, list[FieldValue]]
    flags: list[Flag]
    timings: dict[str, float] = field(default_factory=dict)
    # What the writer stage did (appliance.notes.rewrite); None when no writer ran.
    rewrite: dict[str, Any] | None = None
    # Key -> title, risk included: custom templates' titles are not in FORMATS, and a page must
    # render a stored draft without looking up a template that may have changed since.
    section_titles: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The documented shape of `appliance draft --json`."""
        return {
            "transcript": self.transcript,
            "modality": self.modality,
            "format": self.note_format,
            "sections": {k: [asdict(s) for s in v] for k, v in self.sections.items()},
            "section_titles": self.section_titles,
            "placeholders": self.placeholders,
            "fields": {k: [asdict(f) for f in v] for k, v in self.fields.items()},
            "flags": [asdict(f) for f in self.flags],
            "timings": self.timings,
            "rewrite": self.rewrite,
        }


class SectionClassifier(Protocol):
    """Picks a section for a sentence the cues could not place (None: no answer)."""

    def classify(self, sentence: str, sections: Sequence[tuple[str, str]]) -> str | None: ...


def _cue_scores(note_format: NoteFormat, sentence: Sentence) -> dict[str, int]:
    lowered = sentence.text.lower()
    return {s.key: sum(cue in lowered for cue in s.cues) for s in note_format.sections}


def _route(
    note_format: NoteFormat, sentence: Sentence, classifier: SectionClassifier | None
) -> tuple[str, str]:
    scores = _cue_scores(note_format, sentence)
    best = max(scores.values())
    leaders = [key for key, score in scores.items() if score == best]
    if best > 0 and len(leaders) == 1:
        return leaders[0], "cue"
    if classifier is not None:
        choices = [
            (s.key, s.guidance) for s in note_format.sections if best == 0 or s.key in leaders
        ]
        answer = classifier.classify(sentence.text, choices)
        if answer in {key for key, _ in choices}:
            return str(answer), "model"
    # No cue and no usable answer: the first candidate; still placed, still cited, and flagged.
    return (leaders[0] if best > 0 else note_format.sections[0].key), "default"


def build_draft(
    transcript: str,
    modality: str,
    note_format: str | NoteFormat,
    classifier: SectionClassifier | None = None,
) -> Draft:
    """`note_format`: a built-in key ("soap") or a NoteFormat (an admin's custom template)."""
    started = time.perf_counter()
    form = FORMATS[note_format] if isinstance(note_format, str) else note_format
    if not form.sections or any(s.key == RISK for s in form.sections):
        raise ValueError("a note format needs sections of its own; risk is added to every draft")
    sentences = split_sentences(transcript)
    sections: dict[str, list[Statement]] = {s.key: [] for s in form.sections}
    sections[RISK] = []
    flags: list[Flag] = []
    for sentence in sentences:
        span = Span(sentence.start, sentence.end, sentence.text)
        if is_risk_sentence(sentence):
            sections[RISK].append(Statement(sentence.text, [span], "cue"))
            continue
        key, how = _route(form, sentence, classifier)
        statement = Statement(sentence.text, [span], how)
        sections[key].append(statement)
        if how == "default":
            flags.append(
                Flag(
                    "unplaced", "Check where this sentence belongs; it was placed by default.", key
                )
            )
    routed = time.perf_counter()
    placeholders = {}
    if not sections[RISK]:
        placeholders[RISK] = NOT_ADDRESSED
        flags.append(
            Flag(
                "risk_not_addressed",
                "The dictation says nothing about suicidal or homicidal ideation, self-harm or "
                "safety. Address risk before signing.",
                RISK,
            )
        )
    for statement in sections[RISK]:
        if polarity_unclear(statement.text):
            flags.append(
                Flag(
                    "risk_polarity_unclear",
                    f'"{statement.text}" neither denies nor reports it: a spoken "denies" is '
                    "often misheard. Check what was said.",
                    RISK,
                )
            )
    for key, statements in sections.items():
        for statement in statements:
            cited = " ".join(span.text for span in statement.provenance)
            missing = ungrounded(statement.text, cited)
            if missing:
                flags.append(
                    Flag("ungrounded", f"Not in the cited dictation: {', '.join(missing)}.", key)
                )
            for score in implausible_scores(statement.text):
                flags.append(
                    Flag(
                        "implausible_score",
                        f"{score} is outside that scale: probably misheard; check the value.",
                        key,
                    )
                )
    fields = extract_fields(modality, sentences)
    return Draft(
        transcript=transcript,
        modality=modality,
        note_format=form.key,
        sections=sections,
        placeholders=placeholders,
        fields=fields,
        flags=flags,
        timings={
            "routing": round(routed - started, 4),
            "total": round(time.perf_counter() - started, 4),
        },
        section_titles={s.key: s.title for s in form.sections} | {RISK: RISK_TITLE},
    )

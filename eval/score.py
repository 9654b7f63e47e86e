"""Scoring one draft against its case: facts, provenance, invention, risk, placement and fields.

Everything is measured on the DRAFT (all statement texts joined, plus the placeholders), never on
the transcript, so a fact the drafting drops counts as lost even when Whisper heard it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from appliance.drafting.draft import RISK, Draft, Flag, Statement
from appliance.drafting.grounding import specifics
from appliance.drafting.modalities import EVENT_DONE, NOT_DONE, PRESENT, FieldValue
from appliance.drafting.risk import NOT_ADDRESSED, RISK_PATTERN
from eval.align import align
from eval.cases import Case, ExpectedValue
from eval.text import contains, words


@dataclass(frozen=True)
class Placement:
    text: str
    section: str  # where the draft put it
    expected: str | None  # the expected section of the script sentence it aligns with
    script_index: int | None
    routed_by: str  # "cue", "model", "default" (risk sentences: "cue")

    @property
    def correct(self) -> bool:
        return self.section == self.expected


# A field value as compared: its words after speech_io.normalise ("seven" and "7", "60%" and
# "60 percent" are the same), its status, and the earlier value said with it.
ValueKey = tuple[str, str, str | None]


def _normalised(text: str | None) -> str | None:
    return None if text is None else " ".join(words(text))


def value_key(value: str, status: str, previous: str | None) -> ValueKey:
    return (_normalised(value) or "", status, _normalised(previous))


def shown(key: ValueKey) -> str:
    value, status, previous = key
    text = value or "(no value)"
    if status == NOT_DONE:
        text += " (not done)"
    return text if previous is None else f"{text} (previous {previous})"


@dataclass(frozen=True)
class FieldResult:
    """One modality field of one draft against its label: correct when the draft holds exactly
    the labelled values (in any order), and nothing where the label is empty."""

    name: str
    expected: tuple[ValueKey, ...]
    got: tuple[ValueKey, ...]
    # Whether every labelled value's words are in what the draft was made from: a value Whisper
    # did not hear ("SUD that won" for "SUD at 1") no drafting can fill. A field labelled
    # empty is heard (there is nothing to hear).
    heard: bool = True

    @property
    def correct(self) -> bool:
        return self.expected == self.got


def score_fields(
    expected: Mapping[str, Sequence[ExpectedValue]],
    fields: Mapping[str, Sequence[FieldValue]],
    source_words: Sequence[str] | None = None,
) -> list[FieldResult]:
    """Each labelled field against the draft's values; a field the draft lacks is empty.

    A value is right only when its normalised words are the label's, so a whole sentence where a
    number or a phrase is labelled counts as wrong, and so does a value where the script says
    nothing (the label is then empty) or a "done" where it says not done.
    """
    return [
        FieldResult(
            name=name,
            expected=tuple(sorted(value_key(e.value, e.status, e.previous) for e in labels)),
            got=tuple(
                sorted(value_key(v.value, v.status, v.previous) for v in fields.get(name, ()))
            ),
            heard=source_words is None or all(_heard(source_words, e) for e in labels),
        )
        for name, labels in expected.items()
    ]


def _heard(source_words: Sequence[str], label: ExpectedValue) -> bool:
    """Whether the label's value, and the earlier value said with it, are in `source_words`.
    An event's "done" and Self-energy's "present" are no words of the dictation: heard."""
    if label.value in (EVENT_DONE, PRESENT):
        return True
    said = [label.value] + ([label.previous] if label.previous else [])
    return all(not words(v) or contains(source_words, v) for v in said)


@dataclass
class DraftScore:
    statements: int
    facts_found: list[str]
    facts_missing: list[str]
    without_provenance: int
    invented_flagged: list[str]
    invented_unflagged: list[str]
    risk_ok: bool
    risk_note: str
    placements: list[Placement]
    # Per script sentence: (expected section, section of the statement holding it, or None
    # when no statement holds any of its words).
    sentence_sections: list[tuple[str, str | None]]
    # Vocabulary-hint terms in the draft that the dictation never said (prompt leakage).
    leaked_flagged: list[str] = field(default_factory=list)
    leaked_unflagged: list[str] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)
    # The modality's fields against the case's labels (eval.cases.Case.expected_fields).
    fields: list[FieldResult] = field(default_factory=list)

    @property
    def fields_correct(self) -> int:
        return sum(f.correct for f in self.fields)

    @property
    def fact_recall(self) -> float:
        total = len(self.facts_found) + len(self.facts_missing)
        return len(self.facts_found) / total if total else 1.0

    @property
    def placed_correctly(self) -> int:
        return sum(p.correct for p in self.placements)

    @property
    def placement_accuracy(self) -> float:
        return self.placed_correctly / len(self.placements) if self.placements else 0.0

    @property
    def sentences_placed_correctly(self) -> int:
        return sum(expected == placed for expected, placed in self.sentence_sections)

    @property
    def sentence_accuracy(self) -> float:
        total = len(self.sentence_sections)
        return self.sentences_placed_correctly / total if total else 0.0


def statements_in_order(draft: Draft) -> list[tuple[str, Statement]]:
    """(section, statement) in the order the statements occur in the transcript."""
    placed = [(key, s) for key, group in draft.sections.items() for s in group]
    return sorted(placed, key=lambda item: item[1].provenance[0].start if item[1].provenance else 0)


def draft_text(draft: Draft) -> str:
    pieces = [s.text for _, s in statements_in_order(draft)]
    pieces += list(draft.placeholders.values())
    return " ".join(pieces)


def has_provenance(statement: Statement, transcript: str) -> bool:
    """At least one cited span, and every span is exactly the transcript's text at its place."""
    return bool(statement.provenance) and all(
        0 <= span.start <= span.end <= len(transcript)
        and transcript[span.start : span.end] == span.text
        for span in statement.provenance
    )


def _flag_mentions(flag: Flag, item: str) -> bool:
    if contains(words(flag.message), item):
        return True
    listed = flag.message.split(":", 1)[-1].strip().rstrip(".")
    named = {part.strip().lower() for part in listed.split(",")}
    return bool(specifics(item) & named)


def is_flagged(item: str, draft: Draft) -> bool:
    """An invented item is flagged when an "ungrounded" flag names it, or, for a risk item,
    when the draft carries the "risk_not_addressed" flag."""
    if any(f.code == "ungrounded" and _flag_mentions(f, item) for f in draft.flags):
        return True
    return RISK_PATTERN.search(item) is not None and any(
        f.code == "risk_not_addressed" for f in draft.flags
    )


def risk_handling(case: Case, draft: Draft) -> tuple[bool, str]:
    statements = draft.sections.get(RISK, [])
    flagged = any(f.code == "risk_not_addressed" for f in draft.flags)
    placeholder = draft.placeholders.get(RISK) == NOT_ADDRESSED
    if case.risk_addressed:
        if statements and not placeholder and not flagged:
            return True, f"{len(statements)} risk statement(s)"
        if placeholder and flagged:
            return False, "dictated risk lost; the draft says not addressed and flags it"
        return False, "dictated risk lost, and the draft does not flag it"
    if placeholder and flagged and not statements:
        return True, "placeholder + flag"
    if statements:
        return False, f"no risk dictated, yet {len(statements)} risk statement(s) in the draft"
    return False, "placeholder or risk_not_addressed flag missing"


def _said(script_words: Sequence[str], term: str) -> bool:
    """The term, or its plural ("Defenses today were humor" heard as "Defense is today")."""
    return contains(script_words, term) or contains(script_words, f"{term}s")


def score_draft(case: Case, draft: Draft, vocabulary: Sequence[str] = ()) -> DraftScore:
    """`vocabulary`: the terms given to Whisper as a hint; any in the draft but not in the
    script was put there by the hint or a misrecognition, and is reported as leaked."""
    transcript = draft.transcript
    ordered = statements_in_order(draft)
    text_words = words(draft_text(draft))
    found = [f for f in case.facts if contains(text_words, f)]
    missing = [f for f in case.facts if f not in found]
    invented = [m for m in case.must_not_appear if contains(text_words, m)]
    flagged = [m for m in invented if is_flagged(m, draft)]
    risk_ok, risk_note = risk_handling(case, draft)
    script_sentences = [e.sentence for e in case.expected]
    alignment = align(script_sentences, [s.text for _, s in ordered])
    matches = alignment.sentence_of_statement
    placements = [
        Placement(
            text=statement.text,
            section=key,
            expected=case.expected[index].section if index is not None else None,
            script_index=index,
            routed_by=statement.routed_by,
        )
        for (key, statement), index in zip(ordered, matches, strict=True)
    ]
    sentence_sections = [
        (expected.section, ordered[home][0] if home is not None else None)
        for expected, home in zip(case.expected, alignment.statement_of_sentence, strict=True)
    ]
    script_words = words(case.script)
    leaked = [
        term for term in vocabulary if contains(text_words, term) and not _said(script_words, term)
    ]
    flags: dict[str, int] = {}
    for flag in draft.flags:
        flags[flag.code] = flags.get(flag.code, 0) + 1
    return DraftScore(
        statements=len(ordered),
        facts_found=found,
        facts_missing=missing,
        without_provenance=sum(not has_provenance(s, transcript) for _, s in ordered),
        invented_flagged=flagged,
        invented_unflagged=[m for m in invented if m not in flagged],
        risk_ok=risk_ok,
        risk_note=risk_note,
        placements=placements,
        sentence_sections=sentence_sections,
        leaked_flagged=[term for term in leaked if is_flagged(term, draft)],
        leaked_unflagged=[term for term in leaked if not is_flagged(term, draft)],
        flags=flags,
        fields=score_fields(case.expected_fields, draft.fields, words(transcript)),
    )

"""The note's working copy: what the clinician reviews and edits before signing.

It starts as a copy of the machine draft (appliance.drafting.draft.Draft) and remembers, per
statement and field value, where it came from: dictated (citing its span of the transcript),
edited (still citing it), detached (the clinician dropped the citation on purpose) or added
(the clinician's own words). Flags carry whether and when the clinician acknowledged them.
Sealed as JSON in `notes.body_sealed`; never seen by a model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from appliance.drafting.draft import RISK, Draft, Span

DICTATED = "dictated"
ADDED = "added"


@dataclass(frozen=True)
class Correction:
    """A suggested correction the clinician accepted (appliance.notes.corrections): the words
    Whisper wrote, the vocabulary's term that replaced them, who accepted it and when."""

    heard: str
    term: str
    reason: str
    accepted_by: int
    accepted_at: str  # ISO 8601 UTC

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Correction:
        return cls(
            str(data["heard"]),
            str(data["term"]),
            str(data["reason"]),
            int(data["accepted_by"]),
            str(data["accepted_at"]),
        )


@dataclass(frozen=True)
class NoteStatement:
    id: str
    text: str
    # Empty for an added statement, or one the clinician detached from the dictation.
    provenance: tuple[Span, ...]
    origin: str = DICTATED  # "dictated" or "added"
    edited: bool = False
    detached: bool = False
    # From the draft, shown to the reviewer: how its section was chosen, who wrote its words.
    routed_by: str = "cue"
    written_by: str = "clinician"
    # A capable model's rewrite shows the clinician's own sentence it replaced.
    source_text: str | None = None
    # Suggested corrections accepted, in order; the citation stays as it was.
    corrections: tuple[Correction, ...] = ()

    @property
    def cited_text(self) -> str:
        return " ".join(span.text for span in self.provenance)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoteStatement:
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            provenance=tuple(Span.from_json(s) for s in data.get("provenance", [])),
            origin=str(data.get("origin", DICTATED)),
            edited=bool(data.get("edited", False)),
            detached=bool(data.get("detached", False)),
            routed_by=str(data.get("routed_by", "cue")),
            written_by=str(data.get("written_by", "clinician")),
            source_text=data.get("source_text"),
            corrections=tuple(Correction.from_json(c) for c in data.get("corrections", [])),
        )


@dataclass(frozen=True)
class NoteFieldValue:
    value: str
    # The sentence (index in the transcript's sentences) it was read from; None when added or
    # detached.
    sentence: int | None
    origin: str = DICTATED
    edited: bool = False
    detached: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoteFieldValue:
        sentence = data.get("sentence")
        return cls(
            value=str(data["value"]),
            sentence=None if sentence is None else int(sentence),
            origin=str(data.get("origin", DICTATED)),
            edited=bool(data.get("edited", False)),
            detached=bool(data.get("detached", False)),
        )


@dataclass(frozen=True)
class NoteFlag:
    id: str
    code: str
    message: str
    section: str | None = None
    statement: str | None = None
    # ISO 8601 UTC and the user id: an acknowledged flag no longer blocks signing, and the
    # signed record lists it.
    acknowledged_at: str | None = None
    acknowledged_by: int | None = None

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoteFlag:
        by = data.get("acknowledged_by")
        return cls(
            id=str(data["id"]),
            code=str(data["code"]),
            message=str(data["message"]),
            section=data.get("section"),
            statement=data.get("statement"),
            acknowledged_at=data.get("acknowledged_at"),
            acknowledged_by=None if by is None else int(by),
        )


@dataclass(frozen=True)
class NoteBody:
    modality: str
    note_format: str
    sections: dict[str, tuple[NoteStatement, ...]]
    section_titles: dict[str, str]
    fields: dict[str, tuple[NoteFieldValue, ...]]
    flags: tuple[NoteFlag, ...]
    # Counters for new ids: an id is never reused, even after its statement is deleted.
    next_statement: int
    next_flag: int
    placeholders: dict[str, str] = field(default_factory=dict)

    def statements(self) -> Iterator[tuple[str, NoteStatement]]:
        """(section key, statement) in page order."""
        for key, statements in self.sections.items():
            for statement in statements:
                yield key, statement

    def statement(self, statement_id: str) -> NoteStatement | None:
        return next((s for _, s in self.statements() if s.id == statement_id), None)

    def flag(self, flag_id: str) -> NoteFlag | None:
        return next((f for f in self.flags if f.id == flag_id), None)

    def title_of(self, key: str) -> str:
        return self.section_titles.get(key) or key.replace("_", " ").capitalize()

    def with_flags(self, flags: tuple[NoteFlag, ...], next_flag: int) -> NoteBody:
        return replace(self, flags=flags, next_flag=next_flag)

    def as_json(self) -> dict[str, Any]:
        return {
            "modality": self.modality,
            "format": self.note_format,
            "sections": {k: [asdict(s) for s in v] for k, v in self.sections.items()},
            "section_titles": self.section_titles,
            "fields": {k: [asdict(v) for v in values] for k, values in self.fields.items()},
            "flags": [asdict(f) for f in self.flags],
            "next_statement": self.next_statement,
            "next_flag": self.next_flag,
            "placeholders": self.placeholders,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> NoteBody:
        return cls(
            modality=str(document["modality"]),
            note_format=str(document["format"]),
            sections={
                str(k): tuple(NoteStatement.from_json(s) for s in v)
                for k, v in document["sections"].items()
            },
            section_titles={str(k): str(v) for k, v in document["section_titles"].items()},
            fields={
                str(k): tuple(NoteFieldValue.from_json(v) for v in values)
                for k, values in document["fields"].items()
            },
            flags=tuple(NoteFlag.from_json(f) for f in document["flags"]),
            next_statement=int(document["next_statement"]),
            next_flag=int(document["next_flag"]),
            placeholders={str(k): str(v) for k, v in document.get("placeholders", {}).items()},
        )


def _number(identifier: str) -> int:
    digits = identifier[1:]
    return int(digits) if digits.isdigit() else 0


def body_from_draft(draft: Draft) -> NoteBody:
    """The working copy as the machine drafted it: every statement dictated and citing."""
    sections = {
        key: tuple(
            NoteStatement(
                id=s.id,
                text=s.text,
                provenance=tuple(s.provenance),
                routed_by=s.routed_by,
                written_by=s.written_by,
                source_text=s.source_text,
            )
            for s in statements
        )
        for key, statements in draft.sections.items()
    }
    if RISK not in sections:
        sections[RISK] = ()
    titles = {key: draft.title_of(key) for key in sections}
    fields = {
        # The value as the note shows it ("8 out of 10", "not done"): the working copy holds
        # text the clinician edits, and a value negated in the dictation must read as such.
        name: tuple(NoteFieldValue(v.text, v.sentence) for v in values)
        for name, values in draft.fields.items()
    }
    flags = tuple(NoteFlag(f.id, f.code, f.message, f.section, f.statement) for f in draft.flags)
    return NoteBody(
        modality=draft.modality,
        note_format=draft.note_format,
        sections=sections,
        section_titles=titles,
        fields=fields,
        flags=flags,
        next_statement=max((_number(s.id) for _, s in draft.statements()), default=0) + 1,
        next_flag=max((_number(f.id) for f in draft.flags), default=0) + 1,
        placeholders=dict(draft.placeholders),
    )

"""One save of the review page: the note as the clinician now has it, applied to the working copy.

The page sends the whole note in page order (every statement's id, section and text, plus the
statements it adds), so a single save covers edits, moves, deletions and additions, and a
stale page can be detected by version alone. What changed is derived here, never trusted from
the page: an edited statement keeps its citation and says "edited"; only an explicit "detach"
drops the citation; a statement the page no longer sends is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from appliance.notes.body import ADDED, NoteBody, NoteFieldValue, NoteStatement
from appliance.notes.checks import recheck

MAX_STATEMENT = 5_000
MAX_NOTE = 60_000


class NoteInputError(ValueError):
    """The save cannot be applied; the message says why, and nothing was stored."""


@dataclass(frozen=True)
class SubmittedStatement:
    id: str | None  # None: a statement the clinician adds
    section: str
    text: str
    detach: bool = False


@dataclass(frozen=True)
class SubmittedFieldValue:
    index: int | None  # position in the field's current values; None: added
    value: str
    detach: bool = False


@dataclass(frozen=True)
class SubmittedNote:
    statements: Sequence[SubmittedStatement]
    fields: Mapping[str, Sequence[SubmittedFieldValue]] = field(default_factory=dict)


@dataclass(frozen=True)
class EditOutcome:
    body: NoteBody
    # Statement ids whose words, section or citation changed, or that were added.
    changed: frozenset[str]
    deleted: frozenset[str]
    fields_changed: bool = False

    @property
    def anything(self) -> bool:
        return bool(self.changed or self.deleted or self.fields_changed)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _statements(body: NoteBody, submitted: SubmittedNote) -> tuple[NoteBody, set[str], set[str]]:
    current = {s.id: (key, s) for key, s in body.statements()}
    sections: dict[str, list[NoteStatement]] = {key: [] for key in body.sections}
    seen: set[str] = set()
    changed: set[str] = set()
    next_statement = body.next_statement
    total = 0
    for item in submitted.statements:
        if item.section not in sections:
            raise NoteInputError("A statement names a section this note does not have.")
        text = _clean(item.text)
        if len(text) > MAX_STATEMENT:
            raise NoteInputError(f"A statement is longer than {MAX_STATEMENT} characters.")
        total += len(text)
        if item.id is None:
            if text:
                new = NoteStatement(f"s{next_statement}", text, (), origin=ADDED)
                next_statement += 1
                sections[item.section].append(new)
                changed.add(new.id)
            continue
        if item.id in seen:
            raise NoteInputError("The page sent one statement twice; reload it.")
        seen.add(item.id)
        if item.id not in current:
            raise NoteInputError("A statement on the page no longer exists; reload the note.")
        if not text:
            continue  # emptied: deleted
        old_section, old = current[item.id]
        statement = old
        if text != old.text:
            statement = replace(statement, text=text, edited=True)
        if item.detach and statement.provenance:
            statement = replace(statement, provenance=(), detached=True)
        if statement != old or item.section != old_section:
            changed.add(item.id)
        sections[item.section].append(statement)
    if total > MAX_NOTE:
        raise NoteInputError(f"The note is longer than {MAX_NOTE} characters.")
    kept = {s.id for values in sections.values() for s in values}
    deleted = set(current) - kept
    updated = replace(
        body,
        sections={key: tuple(values) for key, values in sections.items()},
        next_statement=next_statement,
    )
    return updated, changed, deleted


def _fields(body: NoteBody, submitted: SubmittedNote) -> tuple[NoteBody, bool]:
    if not submitted.fields:
        return body, False
    fields = dict(body.fields)
    touched = False
    for name, values in submitted.fields.items():
        if name not in fields:
            raise NoteInputError("A field on the page is not one of this modality's fields.")
        old = fields[name]
        new: list[NoteFieldValue] = []
        for item in values:
            value = _clean(item.value)
            if len(value) > MAX_STATEMENT:
                raise NoteInputError(f"A field value is longer than {MAX_STATEMENT} characters.")
            if not value:
                continue
            if item.index is None or not 0 <= item.index < len(old):
                new.append(NoteFieldValue(value, None, origin=ADDED))
                continue
            entry = old[item.index]
            if value != entry.value:
                entry = replace(entry, value=value, edited=True)
            if item.detach and entry.sentence is not None:
                entry = replace(entry, sentence=None, detached=True)
            new.append(entry)
        if tuple(new) != old:
            touched = True
        fields[name] = tuple(new)
    return replace(body, fields=fields), touched


def apply_edit(body: NoteBody, submitted: SubmittedNote) -> EditOutcome:
    """The working copy after this save, flags re-checked on what changed."""
    with_statements, changed, deleted = _statements(body, submitted)
    with_fields, fields_touched = _fields(with_statements, submitted)
    checked = recheck(with_fields, changed) if changed or deleted else with_fields
    return EditOutcome(checked, frozenset(changed), frozenset(deleted), fields_touched)

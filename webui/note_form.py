"""The review page's form, read into one save (appliance.notes.editing.SubmittedNote).

Field names carry their position, because a form's order is the note's order and the posted
fields arrive as a mapping: `st-<n>-id`, `st-<n>-section`, `st-<n>-text`, `st-<n>-detach`,
`st-<n>-delete` for the statement at position n; `new-<section>` for a statement added at the
end of a section; `fv-<field>-<i>`, `fd-<field>-<i>` for a field's i-th value and its detach
box, `fn-<field>` for a value added. The page's script renumbers positions after a move.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from appliance.notes.editing import (
    NoteInputError,
    SubmittedFieldValue,
    SubmittedNote,
    SubmittedStatement,
)
from appliance.numbers import whole_number

STATEMENT = re.compile(r"^st-(\d{1,5})-id$")
FIELD_VALUE = re.compile(r"^fv-([a-z0-9_]{1,40})-(\d{1,3})$")
NEW_FIELD_VALUE = re.compile(r"^fn-([a-z0-9_]{1,40})$")
NEW_STATEMENT = re.compile(r"^new-([a-z0-9_]{1,40})$")


def submitted_note(fields: Mapping[str, str]) -> SubmittedNote:
    positions = sorted(int(m.group(1)) for name in fields if (m := STATEMENT.match(name)))
    statements: list[SubmittedStatement] = []
    for n in positions:
        if fields.get(f"st-{n}-delete"):
            continue  # left off the save: deleted
        statements.append(
            SubmittedStatement(
                id=fields[f"st-{n}-id"],
                section=fields.get(f"st-{n}-section", ""),
                text=fields.get(f"st-{n}-text", ""),
                detach=bool(fields.get(f"st-{n}-detach")),
            )
        )
    for name, value in fields.items():
        added = NEW_STATEMENT.match(name)
        if added and value.strip():
            statements.append(SubmittedStatement(None, added.group(1), value))
    values: dict[str, list[tuple[int, SubmittedFieldValue]]] = {}
    for name, value in fields.items():
        existing = FIELD_VALUE.match(name)
        if existing:
            field, index = existing.group(1), int(existing.group(2))
            detach = bool(fields.get(f"fd-{field}-{index}"))
            values.setdefault(field, []).append((index, SubmittedFieldValue(index, value, detach)))
            continue
        added_value = NEW_FIELD_VALUE.match(name)
        if added_value:
            values.setdefault(added_value.group(1), []).append(
                (10_000, SubmittedFieldValue(None, value))
            )
    if not positions and not statements:
        # Not a review page's form (every statement, even one marked deleted, is on it): a
        # save that lists nothing must not be read as "delete everything".
        raise NoteInputError("The page sent no note; reload it.")
    return SubmittedNote(
        statements,
        {name: [v for _, v in sorted(items, key=lambda p: p[0])] for name, items in values.items()},
    )


def version_of(fields: Mapping[str, str]) -> int:
    version = whole_number(fields.get("version", ""))
    if version is None:
        raise NoteInputError("The page sent no version; reload it.")
    return version

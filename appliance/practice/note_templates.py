"""Custom note templates: an admin names the sections and writes guidance; clinicians choose one.

Only admins create, edit and retire templates (each change audited, by id only); clinicians
list the active ones for the dictation form. A dictation copies its template when submitted
(`snapshot`), so editing or retiring a template later never changes a submitted dictation.
Templates hold no PHI, so they are stored in the clear.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from appliance import clock
from appliance.access import NotFound, require_role
from appliance.audit.record import record_by
from appliance.drafting.custom_formats import CUSTOM_PREFIX, SectionSpec, section_key
from appliance.drafting.draft import RISK
from appliance.drafting.formats import FORMATS
from appliance.models import NoteTemplate
from appliance.roles import Actor, Role

MAX_TITLE = 60
MAX_SECTIONS = 12
MAX_SECTION_TITLE = 40
MAX_GUIDANCE = 300
OBJECT_TYPE = "note_template"


class TemplateInputError(ValueError):
    """Bad form input; the message names the field. Nothing has been stored."""


@dataclass(frozen=True)
class TemplateView:
    id: str
    title: str
    sections: tuple[SectionSpec, ...]
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None

    @property
    def format_key(self) -> str:
        """What a dictation's `note_format` says when it was submitted with this template."""
        return f"{CUSTOM_PREFIX}{self.id}"

    @property
    def active(self) -> bool:
        return self.retired_at is None


def template_id_of(note_format: str) -> str | None:
    """The template id in a "custom:<id>" note format; None for a built-in one."""
    if note_format.startswith(CUSTOM_PREFIX):
        return note_format.removeprefix(CUSTOM_PREFIX)
    return None


def _clean(text: str) -> str:
    # One line, single spaces: titles are headings, guidance becomes one line of a prompt.
    return " ".join(text.split())


def validate(title: str, rows: Sequence[tuple[str, str]]) -> tuple[str, list[SectionSpec]]:
    """The title and sections as they will be stored, or TemplateInputError naming the field.

    `rows` are the form's (section title, guidance) pairs in order; entirely blank rows are
    skipped, and messages number sections as the form does."""
    title = _clean(title)
    if not title:
        raise TemplateInputError("Title: give the template a name.")
    if len(title) > MAX_TITLE:
        raise TemplateInputError(f"Title: at most {MAX_TITLE} characters.")
    if title.casefold() in FORMATS:
        raise TemplateInputError(f"Title: {title} is a built-in format; choose another name.")
    sections: list[SectionSpec] = []
    row_of: dict[str, int] = {}
    for number, (raw_title, raw_guidance) in enumerate(rows, start=1):
        name, guidance = _clean(raw_title), _clean(raw_guidance)
        if not name and not guidance:
            continue
        field = f"Section {number}"
        if not name:
            raise TemplateInputError(f"{field} title: give the section a title.")
        if len(name) > MAX_SECTION_TITLE:
            raise TemplateInputError(f"{field} title: at most {MAX_SECTION_TITLE} characters.")
        key = section_key(name)
        if not key:
            raise TemplateInputError(f"{field} title: use letters or digits.")
        if key == RISK:
            raise TemplateInputError(
                f"{field} title: every note gets a Risk section from the system; leave it out."
            )
        if key in row_of:
            raise TemplateInputError(
                f"{field} title: section {row_of[key]} already has this title."
            )
        if len(guidance) > MAX_GUIDANCE:
            raise TemplateInputError(f"{field} guidance: at most {MAX_GUIDANCE} characters.")
        row_of[key] = number
        sections.append(SectionSpec(key, name, guidance))
    if not sections:
        raise TemplateInputError("Sections: give the template at least one section.")
    if len(sections) > MAX_SECTIONS:
        raise TemplateInputError(f"Sections: at most {MAX_SECTIONS}.")
    return title, sections


def _view(row: NoteTemplate) -> TemplateView:
    return TemplateView(
        id=row.id,
        title=row.title,
        sections=tuple(
            SectionSpec(s["key"], s["title"], s.get("guidance", "")) for s in row.sections
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        retired_at=row.retired_at,
    )


def _check_title_free(db: Session, title: str, except_id: str | None = None) -> None:
    query = select(NoteTemplate.id).where(
        NoteTemplate.title_folded == title.casefold(), col(NoteTemplate.retired_at).is_(None)
    )
    if except_id is not None:
        query = query.where(NoteTemplate.id != except_id)
    if db.exec(query).first() is not None:
        raise TemplateInputError(f"Title: another template is already called {title}.")


def _as_json(sections: list[SectionSpec]) -> list[dict[str, str]]:
    return [{"key": s.key, "title": s.title, "guidance": s.guidance} for s in sections]


def create_template(
    db: Session, by: Actor, title: str, rows: Sequence[tuple[str, str]]
) -> TemplateView:
    require_role(by, Role.ADMIN, action="template.create")
    title, sections = validate(title, rows)
    _check_title_free(db, title)
    now = clock.utcnow()
    row = NoteTemplate(
        id=secrets.token_hex(16),
        title=title,
        title_folded=title.casefold(),
        sections=_as_json(sections),
        created_by=by.user_id,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    record_by(by, "template.create", object_type=OBJECT_TYPE, object_id=row.id)
    return _view(row)


def _row(db: Session, template_id: str) -> NoteTemplate:
    row = db.get(NoteTemplate, template_id)
    if row is None:
        raise NotFound("note template")
    return row


def update_template(
    db: Session, by: Actor, template_id: str, title: str, rows: Sequence[tuple[str, str]]
) -> TemplateView:
    require_role(by, Role.ADMIN, action="template.update")
    row = _row(db, template_id)
    if row.retired_at is not None:
        raise TemplateInputError("This template is retired; it can no longer be changed.")
    title, sections = validate(title, rows)
    _check_title_free(db, title, except_id=row.id)
    row.title, row.title_folded = title, title.casefold()
    row.sections = _as_json(sections)
    row.updated_at = clock.utcnow()
    db.add(row)
    record_by(by, "template.update", object_type=OBJECT_TYPE, object_id=row.id)
    return _view(row)


def retire_template(db: Session, by: Actor, template_id: str) -> None:
    """Gone from the dictation form; dictations already submitted keep their copy."""
    require_role(by, Role.ADMIN, action="template.retire")
    row = _row(db, template_id)
    if row.retired_at is None:
        row.retired_at = clock.utcnow()
        db.add(row)
        record_by(by, "template.retire", object_type=OBJECT_TYPE, object_id=row.id)


def get_template(db: Session, by: Actor, template_id: str) -> TemplateView:
    require_role(by, Role.ADMIN, action="template.view")
    return _view(_row(db, template_id))


def list_templates(db: Session, by: Actor) -> list[TemplateView]:
    """Admins: every template, active ones first. Clinicians: the active ones, to choose from."""
    require_role(by, Role.ADMIN, Role.CLINICIAN, action="template.list")
    query = select(NoteTemplate)
    if by.role is not Role.ADMIN:
        query = query.where(col(NoteTemplate.retired_at).is_(None))
    rows = db.exec(query).all()
    return sorted((_view(r) for r in rows), key=lambda t: (not t.active, t.title.casefold(), t.id))


def active_template(db: Session, template_id: str) -> TemplateView | None:
    """For a submission (its caller has checked who submits): None if unknown or retired."""
    row = db.get(NoteTemplate, template_id)
    return _view(row) if row is not None and row.retired_at is None else None


def snapshot(template: TemplateView) -> dict[str, Any]:
    """The copy a dictation keeps (appliance.drafting.custom_formats.format_from_snapshot)."""
    return {
        "id": template.id,
        "title": template.title,
        "sections": _as_json(list(template.sections)),
    }

"""The admin settings page: two-factor policy, transcript retention, when notes are due, and the
service codes.

Service codes are one numbered row per code, plus spare rows for adding codes: enough for a
change without a script to add rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.numbers import whole_number
from appliance.practice.preferences import (
    mfa_required,
    note_due_days,
    service_codes,
    set_mfa_required,
    set_note_due_days,
    set_service_codes,
    set_transcript_retention_days,
    transcript_retention_days,
)
from appliance.practice.service_codes import MAX_CODE, MAX_CODES, MAX_LABEL, ServiceCodesInvalid
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields

SPARE_ROWS = 3
MAX_ROWS = MAX_CODES + SPARE_ROWS
ROW_FIELDS = [f"{part}_{n}" for n in range(1, MAX_ROWS + 1) for part in ("code", "label")]
CODE_LIMITS = {"code": MAX_CODE, "label": MAX_LABEL, "codes": MAX_CODES}


def rows_from_fields(fields: dict[str, str]) -> list[tuple[str, str]]:
    return [(fields[f"code_{n}"], fields[f"label_{n}"]) for n in range(1, MAX_ROWS + 1)]


def padded(rows: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rows as numbered (problems name row numbers), without trailing blanks, plus spares."""
    kept = list(rows)
    while kept and not any(part.strip() for part in kept[-1]):
        kept.pop()
    return [*kept, *[("", "")] * SPARE_ROWS][: max(MAX_ROWS, len(kept))]


@dataclass(frozen=True)
class StoredSettings:
    require_mfa: bool
    retention_days: int | None
    service_codes: dict[str, str]
    note_due_days: int


def _settings_page(
    request: Request,
    status_code: int = 200,
    error: str | None = None,
    *,
    code_rows: list[tuple[str, str]] | None = None,
    code_problems: dict[str, str] | None = None,
) -> Response:
    """The page with what is stored, or with the admin's service code rows as sent (on error)."""
    with appliance_of(request).unit_of_work() as db:
        stored = StoredSettings(
            mfa_required(db), transcript_retention_days(db), service_codes(db), note_due_days(db)
        )
    rows = list(stored.service_codes.items()) if code_rows is None else code_rows
    return render(
        request,
        "admin/settings.html",
        {
            "require_mfa": stored.require_mfa,
            "retention_days": stored.retention_days,
            "note_due_days": stored.note_due_days,
            "error": error,
            "code_rows": padded(rows),
            "code_problems": code_problems or {},
            "code_limits": CODE_LIMITS,
        },
        status_code=status_code,
    )


@allow(Role.ADMIN)
def settings_page(request: Request) -> Response:
    return _settings_page(request)


@allow(Role.ADMIN)
def settings_save(request: Request) -> Response:
    fields = form_fields(request, "require_mfa", "retention", "retention_days", "note_due_days")
    due_text = fields["note_due_days"].strip()
    due = whole_number(due_text)
    if due_text and due is None:
        return _settings_page(request, 400, "Notes due: enter a number of days.")
    days: int | None = None
    if fields["retention"] == "days":
        days = whole_number(fields["retention_days"])
        if days is None:
            return _settings_page(request, 400, "Retention: enter a number of days.")
    actor = current_actor(request)
    try:
        with appliance_of(request).unit_of_work() as db:
            set_mfa_required(db, fields["require_mfa"] == "on", by=actor)
            set_transcript_retention_days(db, days, by=actor)
            if due is not None:  # a form without the field (an older page) leaves it as it is
                set_note_due_days(db, due, by=actor)
    except ValueError as error:
        return _settings_page(request, 400, str(error))
    return RedirectResponse("/admin/settings?done=settings_saved", status_code=303)


@allow(Role.ADMIN)
def service_codes_save(request: Request) -> Response:
    rows = rows_from_fields(form_fields(request, *ROW_FIELDS))
    try:
        with appliance_of(request).unit_of_work() as db:
            set_service_codes(db, rows, by=current_actor(request))
    except ServiceCodesInvalid as invalid:
        # The rows as typed, each problem next to its field; the stored list is unchanged.
        return _settings_page(request, 400, code_rows=rows, code_problems=invalid.problems)
    return RedirectResponse(
        "/admin/settings?done=service_codes_saved#service-codes", status_code=303
    )

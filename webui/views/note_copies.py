"""A signed note's copies: PDF, plain text, FHIR, and the audit line of "Copy note"."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from appliance.notes.copies import records_for_copy, text_copy
from appliance.notes.fhir import bundle, note_resources
from appliance.notes.pdf import render_pdf
from appliance.notes.signed import NoteRecords
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.views.app_state import appliance_of

READERS = (Role.CLINICIAN, Role.SUPERVISOR)


def _attachment(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        # A download, never rendered inline by the browser; and never kept in a shared cache.
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _records(request: Request, format: str) -> NoteRecords:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        return records_for_copy(
            db, appliance.keys, current_actor(request), request.path_params["note_id"], format
        )


@allow(*READERS)
def note_pdf(request: Request) -> Response:
    records = _records(request, "pdf")
    return _attachment(render_pdf(records), "application/pdf", f"note-{records.note_id}.pdf")


@allow(*READERS)
def note_text(request: Request) -> Response:
    records = _records(request, "txt")
    return _attachment(
        text_copy(records).encode(), "text/plain; charset=utf-8", f"note-{records.note_id}.txt"
    )


@allow(*READERS)
def note_fhir(request: Request) -> Response:
    records = _records(request, "fhir")
    resources = note_resources(records, render_pdf(records))
    document = bundle(resources, records.note_id)
    return _attachment(
        json.dumps(document, indent=2).encode(),
        "application/fhir+json",
        f"note-{records.note_id}.fhir.json",
    )


@allow(*READERS)
def note_copied(request: Request) -> Response:
    """The page's "Copy note" button put the signed text on the clipboard: recorded."""
    _records(request, "clipboard")
    return JSONResponse({"recorded": True})

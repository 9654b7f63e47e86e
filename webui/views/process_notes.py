"""Psychotherapy notes on the note's page: write them, release them to the supervisor."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.notes.process_notes import (
    ProcessNoteInputError,
    release_to_supervisor,
    save_process_note,
)
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields
from webui.views.notes import note_page


@allow(Role.CLINICIAN, max_body=256 * 1024)  # 20,000 characters, percent-encoded
def process_note_save(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    text = form_fields(request, "process_note")["process_note"]
    try:
        with appliance.unit_of_work() as db:
            save_process_note(db, appliance.keys, current_actor(request), note_id, text)
    except ProcessNoteInputError as error:
        # The page again with the words as typed: nothing lost, nothing stored.
        return note_page(
            request, note_id, status_code=400, process_error=str(error), process_text=text
        )
    return RedirectResponse(f"/notes/{note_id}?done=process_note_saved#process-note", 303)


@allow(Role.CLINICIAN)
def process_note_release(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    released = form_fields(request, "released")["released"] == "yes"
    try:
        with appliance.unit_of_work() as db:
            release_to_supervisor(db, appliance.keys, current_actor(request), note_id, released)
    except ProcessNoteInputError as error:
        return note_page(request, note_id, status_code=400, process_error=str(error))
    done = "process_note_released" if released else "process_note_withdrawn"
    return RedirectResponse(f"/notes/{note_id}?done={done}#process-note", 303)

"""The supervisor's side: notes waiting for co-signature, co-sign or return."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.identity.authentication import check_own_password
from appliance.notes.cosigning import cosign_note, return_note
from appliance.notes.queues import cosign_queue
from appliance.practice.preferences import note_due_days
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields
from webui.views.notes import note_page


@allow(Role.SUPERVISOR)
def cosign_list(request: Request) -> Response:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        items = cosign_queue(db, appliance.keys, current_actor(request))
        due_days = note_due_days(db)
    return render(request, "notes/cosign.html", {"items": items, "due_days": due_days})


@allow(Role.SUPERVISOR)
def note_cosign(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    fields = form_fields(request, "password", "code")
    # argon2 before the unit of work: never inside SQLite's write lock.
    password = check_own_password(
        appliance.engine, current_actor(request).user_id, fields["password"]
    )
    with appliance.unit_of_work() as db:
        outcome = cosign_note(
            db,
            appliance.settings,
            appliance.keys,
            current_actor(request),
            note_id,
            password=password,
            code=fields["code"],
        )
    if not outcome.signed:
        return note_page(request, note_id, status_code=400, sign_error=outcome.message)
    return RedirectResponse("/cosign?done=note_cosigned", status_code=303)


@allow(Role.SUPERVISOR)
def note_return(request: Request) -> Response:
    appliance = appliance_of(request)
    note_id = request.path_params["note_id"]
    comment = form_fields(request, "comment")["comment"]
    with appliance.unit_of_work() as db:
        outcome = return_note(db, appliance.keys, current_actor(request), note_id, comment=comment)
    if not outcome.signed:
        return note_page(
            request, note_id, status_code=400, sign_error=outcome.message, comment=comment
        )
    return RedirectResponse("/cosign?done=note_returned", status_code=303)

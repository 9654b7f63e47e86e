"""Clients: a clinician's own (read-write) and, for a supervisor, their supervisees' (read-only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance import clock
from appliance.notes.exports import list_exports
from appliance.notes.measure_history import measure_history, shown
from appliance.notes.queues import note_states_by_dictation
from appliance.records.clients import ClientInputError, create_client, get_client, list_clients
from appliance.records.dictations import MODALITIES, list_dictations
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.measure_chart import build_chart
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields

CLIENT_FIELDS = ("display_name", "external_id", "date_of_birth")


@allow(Role.CLINICIAN, Role.SUPERVISOR)
def client_list(request: Request) -> Response:
    appliance = appliance_of(request)
    actor = current_actor(request)
    with appliance.unit_of_work() as db:
        clients = list_clients(db, appliance.keys, actor)
    return render(
        request,
        "clients/list.html",
        {"clients": clients, "can_create": actor.role is Role.CLINICIAN},
    )


@allow(Role.CLINICIAN)
async def client_new(request: Request) -> Response:
    return render(request, "clients/new.html", {"values": dict.fromkeys(CLIENT_FIELDS, "")})


@allow(Role.CLINICIAN)
def client_create(request: Request) -> Response:
    appliance = appliance_of(request)
    values = form_fields(request, *CLIENT_FIELDS)
    try:
        with appliance.unit_of_work() as db:
            client = create_client(db, appliance.keys, current_actor(request), **values)
    except ClientInputError as error:
        # The form comes back filled in: a typo must never cost the clinician their input.
        return render(
            request, "clients/new.html", {"values": values, "error": str(error)}, status_code=400
        )
    return RedirectResponse(f"/clients/{client.id}?done=client_created", status_code=303)


@allow(Role.CLINICIAN, Role.SUPERVISOR)
def client_detail(request: Request) -> Response:
    appliance = appliance_of(request)
    actor = current_actor(request)
    client_id = request.path_params["client_id"]
    with appliance.unit_of_work() as db:
        client = get_client(db, appliance.keys, actor, client_id)
        dictations = list_dictations(db, appliance.keys, actor, client_id)
        notes = note_states_by_dictation(db, client_id)
        exports = [] if client.read_only else list_exports(db, appliance.keys, actor, client_id)
        measures = measure_history(db, appliance.keys, actor, client_id)
        today = clock.utcnow().date()
    return render(
        request,
        "clients/detail.html",
        {
            "client": client,
            "dictations": dictations,
            "modalities": MODALITIES,
            "notes": notes,
            "exports": exports,
            "today": today,
            "measures": measures,
            "chart": build_chart(measures),
            "shown": shown,
        },
    )

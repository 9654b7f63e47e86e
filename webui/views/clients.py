"""Clients: a clinician's own (read-write) and, for a supervisor, their supervisees' (read-only)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.access import NotFound
from appliance.records.clients import (
    ClientInputError,
    ClientView,
    create_client,
    get_client,
    list_clients,
)
from appliance.records.dictations import MODALITIES, DictationView, list_dictations
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from webui.auth import allow, current_actor
from webui.pages import not_found_page, render
from webui.views.forms import form_fields

CLIENT_FIELDS = ("display_name", "external_id", "date_of_birth")


def _list(appliance: Appliance, actor: Actor) -> list[ClientView]:
    with appliance.unit_of_work() as db:
        return list_clients(db, appliance.keys, actor)


@allow(Role.CLINICIAN, Role.SUPERVISOR)
async def client_list(request: Request) -> Response:
    actor = current_actor(request)
    clients = await run_in_threadpool(_list, request.app.state.appliance, actor)
    return render(
        request,
        "clients/list.html",
        {"clients": clients, "can_create": actor.role is Role.CLINICIAN},
    )


@allow(Role.CLINICIAN)
async def client_new(request: Request) -> Response:
    return render(request, "clients/new.html", {"values": dict.fromkeys(CLIENT_FIELDS, "")})


def _create(appliance: Appliance, actor: Actor, values: dict[str, str]) -> ClientView:
    with appliance.unit_of_work() as db:
        return create_client(db, appliance.keys, actor, **values)


@allow(Role.CLINICIAN)
async def client_create(request: Request) -> Response:
    values = await form_fields(request, *CLIENT_FIELDS)
    try:
        client = await run_in_threadpool(
            _create, request.app.state.appliance, current_actor(request), values
        )
    except ClientInputError as error:
        # The form comes back filled in: a typo must never cost the clinician their input.
        return render(
            request, "clients/new.html", {"values": values, "error": str(error)}, status_code=400
        )
    return RedirectResponse(f"/clients/{client.id}?done=client_created", status_code=303)


def _get(
    appliance: Appliance, actor: Actor, client_id: str
) -> tuple[ClientView, list[DictationView]]:
    with appliance.unit_of_work() as db:
        client = get_client(db, appliance.keys, actor, client_id)
        return client, list_dictations(db, appliance.keys, actor, client_id)


@allow(Role.CLINICIAN, Role.SUPERVISOR)
async def client_detail(request: Request) -> Response:
    try:
        client, dictations = await run_in_threadpool(
            _get,
            request.app.state.appliance,
            current_actor(request),
            request.path_params["client_id"],
        )
    except NotFound:
        return not_found_page(request)
    return render(
        request,
        "clients/detail.html",
        {
            "client": client,
            "dictations": dictations,
            "modalities": MODALITIES,
        },
    )

"""Deleting a client: a page that says what it means, the typed name and the password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.access import NotFound
from appliance.identity.accounts import get_user
from appliance.identity.authentication import check_own_password
from appliance.records.client_deletion import delete_client
from appliance.records.clients import get_client
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields


def _confirm_page(request: Request, status_code: int = 200, **extra: object) -> Response:
    appliance = appliance_of(request)
    actor = current_actor(request)
    with appliance.unit_of_work() as db:
        client = get_client(db, appliance.keys, actor, request.path_params["client_id"])
        mfa_enabled = get_user(db, actor.user_id).mfa_enabled
    if client.read_only:
        raise NotFound(client.id)
    return render(
        request,
        "clients/delete.html",
        {"client": client, "mfa_enabled": mfa_enabled, **extra},
        status_code=status_code,
    )


@allow(Role.CLINICIAN)
def client_delete_confirm(request: Request) -> Response:
    return _confirm_page(request)


@allow(Role.CLINICIAN)
def client_delete(request: Request) -> Response:
    appliance = appliance_of(request)
    fields = form_fields(request, "typed_name", "password", "code")
    # argon2 before the unit of work: never inside SQLite's write lock.
    password = check_own_password(
        appliance.engine, current_actor(request).user_id, fields["password"]
    )
    with appliance.unit_of_work() as db:
        outcome = delete_client(
            db,
            appliance.settings,
            appliance.keys,
            current_actor(request),
            request.path_params["client_id"],
            typed_name=fields["typed_name"],
            password=password,
            code=fields["code"],
        )
    if not outcome.deleted:
        return _confirm_page(request, 400, error=outcome.message, typed_name=fields["typed_name"])
    return RedirectResponse("/clients?done=client_deleted", status_code=303)

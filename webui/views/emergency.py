"""Admin pages for emergency access: grant (with a reason), list, revoke."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.identity import accounts
from appliance.identity.accounts import AccountError
from appliance.identity.emergency_access import GrantView, grant_access, list_grants, revoke_access
from appliance.roles import Actor, Role
from appliance.runtime import Appliance
from webui.auth import allow, current_actor
from webui.pages import not_found_page, render
from webui.views.forms import form_fields


def _page_data(appliance: Appliance, actor: Actor) -> tuple[list[GrantView], list[str]]:
    with appliance.unit_of_work() as db:
        clinicians = [
            u.username
            for u in accounts.list_users(db)
            if u.role == Role.CLINICIAN.value and u.is_active
        ]
        return list_grants(db, actor), clinicians


async def _page(request: Request, status_code: int = 200, **context: object) -> Response:
    appliance: Appliance = request.app.state.appliance
    grants, clinicians = await run_in_threadpool(_page_data, appliance, current_actor(request))
    values = {
        "grants": grants,
        "clinicians": clinicians,
        "default_hours": appliance.settings.emergency_access_hours,
        "values": {},
        **context,
    }
    return render(request, "admin/emergency.html", values, status_code=status_code)


@allow(Role.ADMIN)
async def emergency_page(request: Request) -> Response:
    return await _page(request)


def _grant(appliance: Appliance, actor: Actor, fields: dict[str, str]) -> None:
    with appliance.unit_of_work() as db:
        grantee = accounts.find_user(db, fields["grantee"])
        owner = accounts.find_user(db, fields["owner"])
        if grantee is None or owner is None:
            raise AccountError("Choose both clinicians.")
        hours = int(fields["hours"]) if fields["hours"].isdigit() else 0
        grant_access(db, actor, grantee=grantee, owner=owner, reason=fields["reason"], hours=hours)


@allow(Role.ADMIN)
async def emergency_grant(request: Request) -> Response:
    fields = await form_fields(request, "grantee", "owner", "reason", "hours")
    try:
        await run_in_threadpool(_grant, request.app.state.appliance, current_actor(request), fields)
    except AccountError as error:
        return await _page(request, 400, error=str(error), values=fields)
    return RedirectResponse("/admin/emergency?done=emergency_granted", status_code=303)


def _revoke(appliance: Appliance, actor: Actor, grant_id: int) -> None:
    with appliance.unit_of_work() as db:
        revoke_access(db, actor, grant_id)


@allow(Role.ADMIN)
async def emergency_revoke(request: Request) -> Response:
    raw = str(request.path_params["grant_id"])
    if not raw.isdigit():
        return not_found_page(request)
    try:
        await run_in_threadpool(
            _revoke, request.app.state.appliance, current_actor(request), int(raw)
        )
    except AccountError:
        return not_found_page(request)
    return RedirectResponse("/admin/emergency?done=emergency_revoked", status_code=303)

"""Admin pages for emergency access: grant (with a reason), list, revoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.access import NotFound
from appliance.identity import accounts
from appliance.identity.accounts import AccountError
from appliance.identity.emergency_access import grant_access, list_grants, revoke_access
from appliance.numbers import whole_number
from appliance.roles import Role
from webui.auth import allow, current_actor
from webui.pages import render
from webui.views.app_state import appliance_of
from webui.views.forms import form_fields, row_id


def _page(request: Request, status_code: int = 200, **context: object) -> Response:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        grants = list_grants(db, appliance_of(request).keys, current_actor(request))
        clinicians = accounts.active_usernames(db, Role.CLINICIAN)
    values = {
        "grants": grants,
        "clinicians": clinicians,
        "default_hours": appliance.settings.emergency_access_hours,
        "values": {},
        **context,
    }
    return render(request, "admin/emergency.html", values, status_code=status_code)


@allow(Role.ADMIN)
def emergency_page(request: Request) -> Response:
    return _page(request)


@allow(Role.ADMIN)
def emergency_grant(request: Request) -> Response:
    fields = form_fields(request, "grantee", "owner", "reason", "hours")
    hours = whole_number(fields["hours"]) or 0
    try:
        with appliance_of(request).unit_of_work() as db:
            grantee = accounts.find_user(db, fields["grantee"])
            owner = accounts.find_user(db, fields["owner"])
            if grantee is None or owner is None:
                raise AccountError("Choose both clinicians.")
            grant_access(
                db,
                appliance_of(request).keys,
                current_actor(request),
                grantee=grantee,
                owner=owner,
                reason=fields["reason"],
                hours=hours,
            )
    except AccountError as error:
        return _page(request, 400, error=str(error), values=fields)
    return RedirectResponse("/admin/emergency?done=emergency_granted", status_code=303)


@allow(Role.ADMIN)
def emergency_revoke(request: Request) -> Response:
    grant_id = row_id(request.path_params["grant_id"])
    try:
        with appliance_of(request).unit_of_work() as db:
            revoke_access(db, current_actor(request), grant_id)
    except AccountError as unknown:
        # revoke_access says "no such grant" with AccountError (the only one it raises once the
        # guard has checked the role). Mapped here, not in the domain: this change only adds to
        # appliance.identity, and the page has always answered it with the 404 page.
        raise NotFound(str(grant_id)) from unknown
    return RedirectResponse("/admin/emergency?done=emergency_revoked", status_code=303)

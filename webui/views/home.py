from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appliance.roles import Role
from webui.auth import EVERYONE, allow, current_actor


@allow(*EVERYONE)
async def home(request: Request) -> Response:
    """Each role lands where its work is."""
    role = current_actor(request).role
    if role in (Role.CLINICIAN, Role.SUPERVISOR):
        return RedirectResponse("/clients", status_code=303)
    if role is Role.ADMIN:
        return RedirectResponse("/admin/users", status_code=303)
    return RedirectResponse("/audit", status_code=303)

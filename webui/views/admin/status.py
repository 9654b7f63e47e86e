"""The admin status page: version, database, schema, sessions and accounts. No PHI."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from appliance import __version__
from appliance.identity import accounts, sessions
from appliance.migrate import current_revision, head_revision
from appliance.roles import Role
from webui.auth import allow
from webui.pages import render
from webui.views.app_state import appliance_of


@dataclass(frozen=True)
class SystemStatus:
    version: str
    database_backend: str
    schema_revision: str | None
    schema_head: str | None
    users_by_role: dict[str, int]
    live_sessions: int


@allow(Role.ADMIN)
def status_page(request: Request) -> Response:
    appliance = appliance_of(request)
    with appliance.unit_of_work() as db:
        by_role = accounts.active_users_by_role(db)
        live = sum(sessions.live_session_counts(db).values())
    status = SystemStatus(
        version=__version__,
        database_backend=appliance.engine.dialect.name,
        schema_revision=current_revision(appliance.engine),
        schema_head=head_revision(),
        users_by_role=by_role,
        live_sessions=live,
    )
    return render(request, "admin/status.html", {"status": status})

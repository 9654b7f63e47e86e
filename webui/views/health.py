from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from appliance import __version__
from appliance.db import database_answers
from appliance.runtime import Appliance
from webui.auth import public
from webui.views.app_state import appliance_of


def _database_ok(appliance: Appliance) -> bool:
    return database_answers(appliance.engine)


@public
def healthz(request: Request) -> Response:
    database_ok = _database_ok(appliance_of(request))
    body = {
        "status": "ok" if database_ok else "degraded",
        "database": "ok" if database_ok else "unreachable",
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if database_ok else 503)

from __future__ import annotations

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from appliance import __version__
from appliance.runtime import Appliance
from webui.auth import public


def _database_ok(appliance: Appliance) -> bool:
    try:
        with appliance.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@public
async def healthz(request: Request) -> Response:
    database_ok = await run_in_threadpool(_database_ok, request.app.state.appliance)
    body = {
        "status": "ok" if database_ok else "degraded",
        "database": "ok" if database_ok else "unreachable",
        "version": __version__,
    }
    return JSONResponse(body, status_code=200 if database_ok else 503)

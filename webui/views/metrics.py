"""`/metrics` for Prometheus: loopback only, or with the configured bearer token."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from appliance.runtime import Appliance
from webui.auth import is_loopback, public


def _allowed(request: Request, token: str) -> bool:
    presented = request.headers.get("authorization", "")
    if token and hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        return True
    # With proxy headers trusted, a request relayed by nginx carries the real client address,
    # so "loopback" here means a scraper on the box itself.
    return is_loopback(request.client.host if request.client else None)


def _render(chain_registry: CollectorRegistry) -> bytes:
    return generate_latest(REGISTRY) + generate_latest(chain_registry)


@public
async def metrics(request: Request) -> Response:
    appliance: Appliance = request.app.state.appliance
    if not _allowed(request, appliance.settings.metrics_token):
        return PlainTextResponse("forbidden\n", status_code=403)
    body = await run_in_threadpool(_render, request.app.state.chain_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

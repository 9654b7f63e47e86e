"""`/metrics` for Prometheus: loopback only, or with the configured bearer token."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from appliance.metrics import counted_metrics
from appliance.settings import is_loopback
from webui.auth import public
from webui.views.app_state import appliance_of


def _allowed(request: Request, token: str) -> bool:
    presented = request.headers.get("authorization", "")
    if token and hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        return True
    # With proxy headers trusted, a request relayed by nginx carries the real client address,
    # so "loopback" here means a scraper on the box itself.
    return is_loopback(request.client.host if request.client else None)


@public
def metrics(request: Request) -> Response:
    if not _allowed(request, appliance_of(request).settings.metrics_token):
        return PlainTextResponse("forbidden\n", status_code=403)
    # The chain and job collectors query the database as they are scraped: whichever process
    # answers, they are served once. The counters are summed over the processes, if several.
    chain_registry: CollectorRegistry = request.app.state.chain_registry
    body = counted_metrics() + generate_latest(chain_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

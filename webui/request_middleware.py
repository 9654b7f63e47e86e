"""Per-request plumbing: request id, source address, security headers, timing and logging."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance.metrics import HTTP_REQUEST_DURATION
from appliance.request_context import RequestInfo, current_request

logger = logging.getLogger("webui.request")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    # The microphone is for dictation (issue #5); nothing else is ever needed.
    "permissions-policy": "microphone=(self), camera=(), geolocation=(), payment=(), usb=()",
}


def route_template(scope: Scope) -> str:
    """The route's pattern (`/clients/{client_id}`), never the raw path that may carry ids."""
    route = scope.get("route")
    if isinstance(route, Route):
        return route.path
    path = str(scope.get("path", ""))
    return "/static" if path.startswith("/static/") else "unmatched"


class RequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        info = RequestInfo(request_id=uuid.uuid4().hex, source_ip=client[0] if client else None)
        reset_token = current_request.set(info)
        # Kept on the scope too: the 500 handler runs after this middleware has unwound.
        scope.setdefault("state", {})["request_id"] = info.request_id
        started = time.perf_counter()
        status = 500
        is_static = str(scope.get("path", "")).startswith("/static/")
        is_tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers["x-request-id"] = info.request_id
                if is_tls:
                    headers["strict-transport-security"] = "max-age=63072000"
                if is_static:
                    headers.setdefault("cache-control", "public, max-age=3600")
                else:
                    # Pages carry PHI; no browser or proxy may keep a copy.
                    headers["cache-control"] = "no-store"
                    headers["pragma"] = "no-cache"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            template = route_template(scope)
            HTTP_REQUEST_DURATION.labels(template, scope["method"], str(status)).observe(elapsed)
            logger.info(
                "%s %s %s %.1fms id=%s",
                scope["method"],
                template,
                status,
                elapsed * 1000,
                info.request_id,
            )
            current_request.reset(reset_token)

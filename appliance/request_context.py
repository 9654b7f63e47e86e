"""Who is asking, from where: set once per request by the web layer, read by the audit hook."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    source_ip: str | None


current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)

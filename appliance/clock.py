"""One source of "now", always timezone-aware UTC, so tests can move time forward."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)

"""Logging for the model services: one line per record, never request content."""

from __future__ import annotations

import logging


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )
    # Health polls and proxied calls would log a line each; their outcome is logged by us.
    logging.getLogger("httpx").setLevel(logging.WARNING)

"""Process-wide logging: one line per record on stderr, for journald.

Nothing here formats request bodies or paths; callers log ids and route templates only.
"""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    # Migration chatter on every start buries the lines an operator needs (the setup link).
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))

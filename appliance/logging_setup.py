"""Process-wide logging: one line per record on stderr, for journald.

Nothing here formats request bodies or paths; callers log ids and route templates only.
Exception messages are the one channel that could still carry PHI (a database error quotes
the values it was given), so tracebacks are written as frames and exception type only.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class RedactingFormatter(logging.Formatter):
    """Keeps where an error happened (file, line, function, type); drops what it said."""

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:
        exc_type, _exc, tb = ei
        if exc_type is None:
            return ""
        frames = traceback.extract_tb(tb)
        lines = ["Traceback (exception text withheld: it may contain PHI):"]
        lines += [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
        lines.append(f"{exc_type.__module__}.{exc_type.__qualname__}")
        return "\n".join(lines)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Migration chatter on every start buries the lines an operator needs (the setup link).
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # httpx logs a line per request to the model services (every status poll of a draft, every
    # section question): URLs only, no PHI, but noise that hides what matters.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))

"""Faults of the box, for tests.

`database_down`: the database out of reach, for real. While it is open, every new connection of
the engine goes where no database answers (a file in a folder that does not exist for SQLite, a
closed port for PostgreSQL), so the driver raises its own error, as in an outage.

`disk_full` and `database_full`: the errors a full disk gives a file write (ENOSPC) and the
database (SQLITE_FULL, PostgreSQL's disk_full), to inject where a write happens.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from tests.served_app import free_port


@contextmanager
def database_down(engine: Engine) -> Iterator[None]:
    closed_port = free_port()

    def unreachable(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if engine.dialect.name == "sqlite":
            cargs[:] = ["/nonexistent/database-down/appliance.db"]
        else:
            cparams.update(host="127.0.0.1", port=closed_port)

    def gone(_dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # A pooled connection would still answer: the pool closes it, and connects anew.
        raise DisconnectionError("the database is down")

    event.listen(engine, "do_connect", unreachable)
    event.listen(engine, "checkout", gone)
    try:
        yield
    finally:
        event.remove(engine, "checkout", gone)
        event.remove(engine, "do_connect", unreachable)


def disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def database_full(engine: Engine) -> DBAPIError:
    """What SQLAlchemy raises when the database's own write finds the disk full."""
    if engine.dialect.name == "sqlite":
        refused = sqlite3.OperationalError("database or disk is full")
        refused.sqlite_errorcode = sqlite3.SQLITE_FULL
        return OperationalError("INSERT INTO ...", {}, refused)
    import psycopg

    return OperationalError("INSERT INTO ...", {}, psycopg.errors.DiskFull("No space left"))

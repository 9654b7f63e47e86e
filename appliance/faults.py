"""Faults of the box rather than bugs: the database out of reach, the storage full.

A person meets them as a page that says what happened and what to do (webui.pages), never a
traceback; the job workers wait them out (appliance.jobs.queue). Telling them apart from other
errors is done here, on the driver's own codes, so SQLite and PostgreSQL read the same.
"""

from __future__ import annotations

import errno
import logging
import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from appliance import metrics

logger = logging.getLogger("appliance.faults")

# What webui registers its handler on (webui itself imports no SQLAlchemy).
DatabaseError = DBAPIError

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = sqlite3.SQLITE_FULL
# Primary result codes (the low byte of an extended one) of a database file that cannot be
# reached or read right now, or that another writer kept locked past busy_timeout.
_SQLITE_UNREACHABLE = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN}
)
_PG_DISK_FULL = "53100"
# Class 08 (connection exception), and the server shutting down or still starting.
_PG_UNREACHABLE_PREFIX = "08"
_PG_UNREACHABLE = frozenset({"57P01", "57P02", "57P03"})


def storage_full(exc: BaseException) -> bool:
    """A write refused for lack of space: a file's (ENOSPC) or the database's own."""
    if isinstance(exc, OSError):
        return exc.errno in _NO_SPACE
    if not isinstance(exc, DBAPIError):
        return False
    driver_error = exc.orig
    if isinstance(driver_error, sqlite3.Error):
        return getattr(driver_error, "sqlite_errorcode", None) == _SQLITE_FULL
    return getattr(driver_error, "sqlstate", None) == _PG_DISK_FULL


def database_unreachable(exc: BaseException) -> bool:
    """The database did not answer: stopped, restarting, its file out of reach, or locked."""
    if not isinstance(exc, DBAPIError) or storage_full(exc):
        return False
    if exc.connection_invalidated:
        return True
    driver_error = exc.orig
    if isinstance(driver_error, sqlite3.Error):
        code = getattr(driver_error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_UNREACHABLE
    sqlstate = getattr(driver_error, "sqlstate", None)
    if sqlstate is None:
        # No answer from the server at all: refused, reset or timed out before one came.
        return isinstance(exc, (OperationalError, InterfaceError))
    return sqlstate.startswith(_PG_UNREACHABLE_PREFIX) or sqlstate in _PG_UNREACHABLE


def report_storage_full(what: str) -> None:
    """Tell the administrator (a metric, a log line; `what` is a fixed word, never content)."""
    metrics.STORAGE_FULL.labels(what).inc()
    logger.error("storage full: %s write refused (no space left in the data folder)", what)

"""Database engine and sessions: SQLite (WAL, foreign keys on) by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware UTC datetimes, on SQLite as on PostgreSQL.

    SQLite has no time zones, so a naive value read back would silently compare wrong
    against aware ones; normalising at the column keeps every comparison honest.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers proceed while one transaction writes; busy_timeout waits out a writer
    # instead of failing the request with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "appliance_read_only"


def _sqlite_begin_immediate(connection: Connection) -> None:
    # Nearly every unit of work writes (session touch, audit event). A deferred transaction that
    # read first cannot upgrade to a writer once another connection has committed
    # (SQLITE_BUSY_SNAPSHOT, which busy_timeout does not wait out); taking the write lock at
    # BEGIN makes concurrent units queue instead of fail. Long read-only work (verifying the
    # audit chain, scraping metrics) must not hold that lock, so it asks for a plain BEGIN.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def database_answers(engine: Engine) -> bool:
    """Whether the database takes a query right now (the health check)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@contextmanager
def read_only(engine: Engine) -> Iterator[Session]:
    """A session for reads only: on SQLite it takes no write lock, so writers carry on."""
    with (
        engine.connect().execution_options(**{READ_ONLY: True}) as connection,
        Session(bind=connection) as session,
    ):
        yield session


@dataclass
class Unit:
    """The unit of work in progress on this thread, and what must happen at its end."""

    session: Session
    before_commit: list[Callable[[Session], None]] = field(default_factory=list)
    after_rollback: list[Callable[[], None]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


current_unit: ContextVar[Unit | None] = ContextVar("current_unit", default=None)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back otherwise.

    Hooks let the audit trail append its events last in the same transaction (allowed actions)
    or in a fresh one after a rollback (denials and failures must survive the rollback).
    """
    if current_unit.get() is not None:
        raise RuntimeError("units of work do not nest (SQLite would wait on itself)")
    with Session(engine, expire_on_commit=False) as session:
        unit = Unit(session)
        token = current_unit.set(unit)
        try:
            yield session
            for hook in unit.before_commit:
                hook(session)
            session.commit()
        except BaseException:
            try:
                session.rollback()
            finally:
                # Even when the rollback fails too (the database gone mid-transaction): a unit
                # left current would refuse every later one on this thread (a job worker's).
                current_unit.reset(token)
            for callback in unit.after_rollback:
                callback()
            raise
        else:
            current_unit.reset(token)

"""What a box runs once, however many web processes serve it: the job workers and the periodic
tasks (appliance.jobs.scheduler).

One `appliance serve` process runs them itself. Several processes on one PostgreSQL database
(`appliance serve --workers N`) elect one: the process holding a session-level advisory lock on
the database runs them, and the others try to take it every ELECTION_SECONDS, so when the holder
dies (its connection closes, and the lock goes with it) another process carries on. Until then a
dictation submitted to another process is found by the holder's workers at their next idle poll
(a second) rather than woken at once.

Why once: APPLIANCE_WORKERS is sized to what the model server takes at a time, and N processes
with their own workers would ask N times that of it; a periodic round run by N processes at once
would record each retention deletion, each export expiry and each chain verification N times in
the audit log. Correctness does not rest on the lock: claims are FOR UPDATE SKIP LOCKED
(appliance.jobs.queue), so even two holders (one whose connection broke while it ran on) never
work one job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool

from appliance.drafting.boundaries import shared_boundaries
from appliance.drafting.placement import shared_classifier
from appliance.jobs.job_types import JOB_TYPES
from appliance.jobs.queue import Workers
from appliance.jobs.scheduler import start_periodic_tasks
from appliance.runtime import Appliance

logger = logging.getLogger("appliance.jobs")
# The key of the advisory lock: any constant bigint the appliance uses for nothing else.
DUTIES_LOCK_KEY = 0x617070_64757479  # "app" "duty"
ELECTION_SECONDS = 5.0


def _train_drafting_models() -> None:
    shared_classifier()
    shared_boundaries()


class DutiesLock:
    """The advisory lock that makes one of several processes the one that runs the duties."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._held: Connection | None = None

    def try_take(self) -> bool:
        """Take the lock if no process holds it; keeps the connection open while it is held."""
        # Autocommit: a session-level lock needs no transaction, and an open one would sit
        # "idle in transaction" for as long as the process lives.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": DUTIES_LOCK_KEY}
            ).scalar_one()
        except BaseException:
            connection.close()
            raise
        if taken:
            self._held = connection
        else:
            connection.close()
        return bool(taken)

    def release(self) -> None:
        if self._held is None:
            return
        connection, self._held = self._held, None
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": DUTIES_LOCK_KEY})
        finally:
            # Never back into the pool: a session lock still held would travel with it.
            connection.invalidate()
            connection.close()


class BoxDuties:
    """Start on the running event loop, stop at shutdown. `elect`: this process is one of
    several sharing the database, and runs the duties only once it holds the lock."""

    def __init__(
        self,
        appliance: Appliance,
        *,
        elect: bool,
        on_start: Callable[[Workers], None] = lambda _workers: None,
        election_seconds: float = ELECTION_SECONDS,
    ) -> None:
        self.appliance, self.on_start, self.election_seconds = appliance, on_start, election_seconds
        self.lock = DutiesLock(appliance.engine) if elect else None
        self.workers: Workers | None = None
        self._periodic: list[asyncio.Task[None]] = []
        self._election: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.lock is None:
            self._begin()
        else:
            self._election = asyncio.create_task(self._elect(self.lock))

    async def _elect(self, lock: DutiesLock) -> None:
        while True:
            try:
                if await run_in_threadpool(lock.try_take):
                    logger.info("this process runs the job workers and the periodic tasks")
                    self._begin()
                    return
            except Exception as exc:  # the database may be restarting: try again next round
                logger.error("taking the duties lock: %s", type(exc).__name__)
            await asyncio.sleep(self.election_seconds)

    def _begin(self) -> None:
        # The placement classifier and the boundary model train on first use (a few seconds
        # with scikit-learn's import): trained now, beside the workers, the first dictation
        # does not wait for them.
        threading.Thread(
            target=_train_drafting_models, name="drafting-training", daemon=True
        ).start()
        self._periodic = start_periodic_tasks(self.appliance)
        self.workers = Workers(self.appliance, list(JOB_TYPES), self.appliance.settings.workers)
        self.workers.start()
        self.on_start(self.workers)

    async def stop(self) -> None:
        if self._election is not None:
            self._election.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._election
        for task in self._periodic:
            task.cancel()
        if self.workers is not None:
            await run_in_threadpool(self.workers.stop)
        if self.lock is not None:
            await run_in_threadpool(self.lock.release)

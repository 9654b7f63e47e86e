"""A durable job queue on database rows: claim, lease, heartbeat, backoff, and the workers.

A job is a row of some table (a dictation today; PDF and FHIR exports next) whose state says
what is left to do. A job type supplies three things: how to claim its next row, how to work a
claimed one, and how to renew the claim. This module supplies the rest, the same for every type:
  - claims are atomic (`claim_first`: FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises
    writers), so several processes can share one database and no job is worked twice;
  - a worker renews its claim while it works (a heartbeat every quarter of the lease,
    APPLIANCE_JOB_LEASE_SECONDS); a claim not renewed for a whole lease belongs to a dead worker
    (a killed server) and the type's claim query takes it over, so a restart loses nothing;
  - a job whose service is down waits `backoff_seconds` before its next attempt, instead of
    failing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlmodel import Session, SQLModel
from sqlmodel.sql.expression import SelectOfScalar

from appliance import clock
from appliance.runtime import Appliance

logger = logging.getLogger("appliance.jobs")
MAX_BACKOFF_SECONDS = 60.0
Row = TypeVar("Row", bound=SQLModel)


@dataclass(frozen=True)
class JobType:
    name: str  # for logs; never an id or anything from the job's content
    # Claims the next job that is due (or whose claim went stale) in its own transaction;
    # returns its id, or None when nothing is due.
    claim: Callable[[Appliance], str | None]
    # Works one claimed job to its next state; runs with the heartbeat going.
    work: Callable[[Appliance, str], None]
    # Marks the claim of one job fresh (the heartbeat).
    renew: Callable[[Appliance, str], None]
    # Called when `work` raised what no stage expects (a bug, not a service that is down): the
    # type counts it and, after a few, fails the job with a reason. Without it the lease would
    # hand the job back for ever, and every worker in turn would spend its time on it.
    crashed: Callable[[Appliance, str, Exception], None] | None = None


def lease(appliance: Appliance) -> timedelta:
    return timedelta(seconds=appliance.settings.job_lease_seconds)


def stale_before(appliance: Appliance) -> datetime:
    """Claims made before this belong to a dead worker and may be taken over."""
    return clock.utcnow() - lease(appliance)


def backoff_seconds(attempts: int) -> float:
    return min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 10))


def claim_first(db: Session, due: SelectOfScalar[Row]) -> Row | None:
    """The first row of `due`, locked for this transaction; rows another worker is claiming
    right now are skipped, not waited for."""
    return db.exec(due.limit(1).with_for_update(skip_locked=True)).first()


def work_while_claimed(appliance: Appliance, job_type: JobType, job_id: str) -> None:
    """Run one job while a heartbeat thread keeps its claim fresh."""
    done = threading.Event()
    heartbeat_seconds = appliance.settings.job_lease_seconds / 4

    def renew() -> None:
        while not done.wait(heartbeat_seconds):
            try:
                job_type.renew(appliance, job_id)
            except Exception as exc:  # the database away for a moment: beat again next time
                logger.warning(
                    "%s job %s: claim not renewed: %s", job_type.name, job_id, type(exc).__name__
                )

    heartbeat = threading.Thread(target=renew, daemon=True)
    heartbeat.start()
    try:
        job_type.work(appliance, job_id)
    finally:
        done.set()
        heartbeat.join()


class Workers:
    """`count` threads inside `appliance serve`; each works one job at a time, of any type."""

    def __init__(
        self,
        appliance: Appliance,
        job_types: Sequence[JobType],
        count: int,
        idle_seconds: float = 1.0,
    ) -> None:
        self.appliance, self.job_types = appliance, tuple(job_types)
        self.count, self.idle_seconds = count, idle_seconds
        self.stopping = threading.Event()
        self.work_arrived = threading.Event()
        self.threads: list[threading.Thread] = []

    def wake(self) -> None:
        """Work submitted in this process: start now rather than at the next idle poll (other
        processes sharing the database still find it within `idle_seconds`)."""
        self.work_arrived.set()

    def run_once(self) -> bool:
        """Claim and work one job, if any is due; whether one was."""
        for job_type in self.job_types:
            job_id = job_type.claim(self.appliance)
            if job_id is None:
                continue
            try:
                work_while_claimed(self.appliance, job_type, job_id)
            except Exception as exc:  # keep the worker alive; the job type decides what next
                logger.error("%s job %s: %s", job_type.name, job_id, type(exc).__name__)
                self._crashed(job_type, job_id, exc)
            return True
        return False

    def _crashed(self, job_type: JobType, job_id: str, exc: Exception) -> None:
        if job_type.crashed is None:
            return  # the lease brings the job back
        try:
            job_type.crashed(self.appliance, job_id, exc)
        except Exception as failed:  # the database away too: the lease brings it back
            logger.error("%s job %s: not counted: %s", job_type.name, job_id, type(failed).__name__)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.run_once()
            except Exception as exc:  # a database hiccup must not end the worker
                logger.error("job worker: %s", type(exc).__name__)
                worked = False
            if not worked:
                self.work_arrived.wait(self.idle_seconds)
                self.work_arrived.clear()

    def start(self) -> None:
        for n in range(self.count):
            thread = threading.Thread(target=self._loop, name=f"job-worker-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        self.work_arrived.set()
        for thread in self.threads:
            thread.join(timeout=30)

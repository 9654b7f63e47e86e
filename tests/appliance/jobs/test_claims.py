"""Claims across processes: several claimers on one database never take the same job.

Each claimer below has its own connection, as each `appliance serve --workers N` process has:
on PostgreSQL (`make test-postgres`) this is FOR UPDATE SKIP LOCKED at work, on SQLite the
write lock every unit of work takes at BEGIN."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from appliance.jobs import dictation_stages
from appliance.jobs.queue import JobType
from appliance.runtime import Appliance
from tests.conftest import People, submit_dictation

CLAIMERS = 4


def _claim_all(appliance: Appliance, job_type: JobType, claimers: int) -> list[list[str]]:
    """Every claimer claims until nothing is left; what each one got."""
    start = threading.Barrier(claimers)

    def claimer() -> list[str]:
        start.wait()
        got = []
        while (job_id := job_type.claim(appliance)) is not None:
            got.append(job_id)
        return got

    with ThreadPoolExecutor(claimers) as pool:
        return list(pool.map(lambda _n: claimer(), range(claimers)))


def test_two_claimers_never_take_the_same_job(appliance: Appliance, people: People) -> None:
    queued = {submit_dictation(appliance, people, typed_text=f"Session {n}.") for n in range(24)}
    claimed = _claim_all(appliance, dictation_stages.DICTATION_JOBS, CLAIMERS)
    every = [job_id for got in claimed for job_id in got]
    assert len(every) == len(set(every)), "a job was claimed twice"
    assert set(every) == queued

"""The generic job queue: heartbeat while working, backoff, and workers that survive a bad job."""

from __future__ import annotations

import threading
import time

import pytest

from appliance.jobs.queue import JobType, Workers, backoff_seconds, work_while_claimed
from appliance.runtime import Appliance


class Recorder:
    """A job type kept in memory: ids waiting to be claimed, and what happened to them."""

    def __init__(self, name: str, waiting: list[str], work_until_beats: int = 0) -> None:
        self.waiting = waiting
        # A job that works until the heartbeat has beaten this often (or 10 s pass): a fixed
        # sleep let a loaded CI machine starve the heartbeat thread and fail the test by chance.
        self.work_until_beats = work_until_beats
        self.beaten_enough = threading.Event()
        self.worked: list[str] = []
        self.renewed: list[str] = []
        self.job_type = JobType(name, claim=self.claim, work=self.work, renew=self.renew)

    def claim(self, _appliance: Appliance) -> str | None:
        return self.waiting.pop(0) if self.waiting else None

    def work(self, _appliance: Appliance, job_id: str) -> None:
        if self.work_until_beats:
            self.beaten_enough.wait(timeout=10)
        if job_id == "poison":
            raise RuntimeError("a bug in one job's stage")
        self.worked.append(job_id)

    def renew(self, _appliance: Appliance, job_id: str) -> None:
        self.renewed.append(job_id)
        if len(self.renewed) >= self.work_until_beats:
            self.beaten_enough.set()


def _with_lease(appliance: Appliance, monkeypatch: pytest.MonkeyPatch, seconds: float) -> Appliance:
    # The heartbeat beats every quarter of the lease.
    update = {"job_lease_seconds": seconds}
    monkeypatch.setattr(appliance, "settings", appliance.settings.model_copy(update=update))
    return appliance


def test_the_claim_is_renewed_while_a_job_is_worked(
    appliance: Appliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_lease = _with_lease(appliance, monkeypatch, 0.4)  # a beat every 0.1 s
    jobs = Recorder("slow", [], work_until_beats=2)
    work_while_claimed(short_lease, jobs.job_type, "j1")
    assert jobs.worked == ["j1"]
    assert len(jobs.renewed) >= 2 and set(jobs.renewed) == {"j1"}


def test_a_quick_job_needs_no_heartbeat(
    appliance: Appliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A beat every 10 s: a quick job ends well before the first one is due, even when a loaded
    # machine stalls it for a moment (at 0.1 s a stall of that length recorded a beat).
    long_lease = _with_lease(appliance, monkeypatch, 40)
    jobs = Recorder("quick", [])
    work_while_claimed(long_lease, jobs.job_type, "j1")
    assert jobs.renewed == []


def test_backoff_doubles_and_stops_at_a_minute() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 5)] == [2.0, 4.0, 8.0, 32.0]
    assert backoff_seconds(6) == 60.0 and backoff_seconds(1000) == 60.0


def test_workers_take_each_type_in_turn_and_report_when_idle(appliance: Appliance) -> None:
    first, second = Recorder("first", ["a"]), Recorder("second", ["b"])
    workers = Workers(appliance, [first.job_type, second.job_type], count=1)
    assert workers.run_once() and workers.run_once()
    assert not workers.run_once()
    assert (first.worked, second.worked) == (["a"], ["b"])


def test_a_job_that_raises_does_not_stop_the_worker(appliance: Appliance) -> None:
    jobs = Recorder("mixed", ["poison", "good"])
    workers = Workers(appliance, [jobs.job_type], count=1, idle_seconds=0.01)
    workers.start()
    deadline = time.monotonic() + 5
    while not jobs.worked and time.monotonic() < deadline:
        time.sleep(0.01)
    workers.stop()
    assert jobs.worked == ["good"]
    assert all(not t.is_alive() for t in workers.threads)

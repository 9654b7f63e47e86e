"""The job workers and periodic tasks run once per box: at once in a lone process, and in only
one of several processes sharing a PostgreSQL database, another taking over when it stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from appliance.jobs.box_duties import BoxDuties
from appliance.jobs.queue import Workers
from appliance.runtime import Appliance
from tests.conftest import POSTGRES_URL

postgres_only = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="several processes need PostgreSQL (set APPLIANCE_TEST_DATABASE_URL)",
)


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time allowed")


def test_a_lone_process_runs_the_duties_at_once(appliance: Appliance) -> None:
    async def scenario() -> None:
        started: list[Workers] = []
        duties = BoxDuties(appliance, elect=False, on_start=started.append)
        duties.start()
        assert duties.workers is not None and started == [duties.workers]
        await duties.stop()
        assert all(not thread.is_alive() for thread in duties.workers.threads)

    asyncio.run(scenario())


@postgres_only
def test_of_two_processes_one_runs_the_duties_until_it_stops(appliance: Appliance) -> None:
    async def scenario() -> None:
        first = BoxDuties(appliance, elect=True, election_seconds=0.05)
        second = BoxDuties(appliance, elect=True, election_seconds=0.05)
        first.start()
        await _until(lambda: first.workers is not None)
        second.start()
        await asyncio.sleep(0.5)  # ten tries of the lock
        assert second.workers is None, "both processes run the job workers"
        await first.stop()
        await _until(lambda: second.workers is not None)
        await second.stop()

    asyncio.run(scenario())

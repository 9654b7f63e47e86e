"""The periodic tasks of a running appliance: audit chain verification, transcript retention,
the expiry of client exports and the end of streamed recordings left idle.

Started by whatever hosts the appliance (`appliance serve`, through webui.app's lifespan); each
runs in the worker threadpool so the event loop stays free, and an error in one round is logged
by type and retried next round: nothing is left half done (each round is one transaction).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from appliance.audit.verification import verify_and_record
from appliance.notes.exports import expire_exports
from appliance.records.idle_recordings import IDLE_SWEEP_INTERVAL_SECONDS, end_idle_recordings
from appliance.records.retention import enforce_transcript_retention
from appliance.runtime import Appliance

logger = logging.getLogger("appliance.jobs")
RETENTION_INTERVAL_SECONDS = 15 * 60
# A download past its 24 hours is refused at once; this only bounds how long the file and its
# key outlive that.
EXPORT_EXPIRY_INTERVAL_SECONDS = 5 * 60


async def _every(seconds: float, what: str, task: Callable[[], object]) -> None:
    while True:
        try:
            await run_in_threadpool(task)
        except Exception as exc:  # try again next round; the metrics show a missed verification
            logger.error("%s could not run: %s", what, type(exc).__name__)
        await asyncio.sleep(seconds)


def start_periodic_tasks(appliance: Appliance) -> list[asyncio.Task[None]]:
    """Start every periodic task on the running event loop; cancel the returned tasks to stop."""
    verify_every = appliance.settings.audit_verify_interval_minutes * 60
    return [
        asyncio.create_task(
            _every(
                verify_every,
                "audit verification",
                lambda: verify_and_record(appliance.engine, appliance.keys.audit),
            )
        ),
        asyncio.create_task(
            _every(
                RETENTION_INTERVAL_SECONDS,
                "transcript retention",
                lambda: enforce_transcript_retention(appliance),
            )
        ),
        asyncio.create_task(
            _every(
                EXPORT_EXPIRY_INTERVAL_SECONDS,
                "export expiry",
                lambda: expire_exports(appliance),
            )
        ),
        asyncio.create_task(
            _every(
                IDLE_SWEEP_INTERVAL_SECONDS,
                "idle recordings",
                lambda: end_idle_recordings(appliance),
            )
        ),
    ]

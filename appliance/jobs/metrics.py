"""Prometheus view of the dictation jobs, read from the database at scrape time.

Read from the table rather than counted in memory so several worker processes sharing one
database report one truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from appliance import clock
from appliance.db import read_only
from appliance.models import Dictation
from appliance.records.dictations import State


class JobCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_only(self.engine) as db:
            counts = dict(
                db.exec(select(Dictation.state, func.count()).group_by(col(Dictation.state))).all()
            )
            oldest = db.exec(
                select(func.min(Dictation.created_at)).where(Dictation.state == State.QUEUED.value)
            ).one()
        by_state = GaugeMetricFamily("appliance_jobs", "Dictation jobs by state.", labels=["state"])
        for state in State:
            by_state.add_metric([state.value], float(counts.get(state.value, 0)))
        yield by_state
        depth = GaugeMetricFamily("appliance_job_queue_depth", "Dictations waiting to be worked.")
        depth.add_metric([], float(counts.get(State.QUEUED.value, 0)))
        yield depth
        age = GaugeMetricFamily(
            "appliance_job_oldest_queued_age_seconds",
            "Age of the oldest queued dictation (0 when none waits).",
        )
        if oldest is not None:
            if oldest.tzinfo is None:  # SQLite aggregates come back as naive UTC
                oldest = oldest.replace(tzinfo=UTC)
            age.add_metric([], max(0.0, (clock.utcnow() - oldest).total_seconds()))
        else:
            age.add_metric([], 0.0)
        yield age

"""`appliance_access_changes_total{change}`: privileged access changes, counted from the trail.

Read from the audit trail at scrape time, not kept as an in-process counter: the trail also
holds changes made at the shell (`appliance user …`, Ansible), which no web process sees; it
survives restarts; and every `serve` worker answers the same number. It only grows, because
audit events are never deleted (ApplianceAuditChainShortened watches that).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from appliance.audit.record import Outcome
from appliance.db import read_only
from appliance.identity.access_changes import ACCESS_CHANGES
from appliance.models import AuditEvent


class AccessChangeCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[CounterMetricFamily]:
        with read_only(self.engine) as db:
            counts = dict(
                db.exec(
                    select(AuditEvent.action, func.count())
                    .where(
                        col(AuditEvent.action).in_(list(ACCESS_CHANGES)),
                        AuditEvent.outcome == Outcome.ALLOWED.value,
                    )
                    .group_by(AuditEvent.action)
                ).all()
            )
        family = CounterMetricFamily(
            "appliance_access_changes",
            "Privileged access changes made (new accounts, supervisor assignments, two-factor "
            "resets, re-issued setup links, emergency grants), from the audit trail.",
            labels=["change"],
        )
        for action, change in ACCESS_CHANGES.items():
            family.add_metric([change], float(counts.get(action, 0)))
        yield family

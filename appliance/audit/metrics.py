"""Prometheus collector for the audit chain's health, read from the database at scrape time.

`appliance_audit_chain_length` is the head's last seq. It only ever grows; the alert
ApplianceAuditChainShortened fires when it falls, which is what the head's seal cannot catch:
a head put back to a state the appliance sealed earlier, with the events after it deleted
(appliance.audit.chain).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from appliance.audit.record import Outcome
from appliance.audit.verification import VERIFY_ACTION
from appliance.db import read_only
from appliance.models import AuditEvent, AuditHead


class AuditChainCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_only(self.engine) as db:
            last = db.exec(
                select(AuditEvent.at, AuditEvent.outcome)
                .where(AuditEvent.action == VERIFY_ACTION)
                .order_by(col(AuditEvent.seq).desc())
                .limit(1)
            ).first()
            head = db.get(AuditHead, 1)
            chain_length = head.last_seq if head else 0
        ok = GaugeMetricFamily(
            "appliance_audit_chain_ok",
            "1 if the newest verification found the audit chain intact, else 0.",
        )
        # Never verified counts as not OK: an unverified chain is not known to be intact.
        ok.add_metric([], 1.0 if last and last[1] == Outcome.ALLOWED.value else 0.0)
        yield ok
        verified = GaugeMetricFamily(
            "appliance_audit_last_verified_timestamp_seconds",
            "Unix time of the newest audit chain verification (0 if never).",
        )
        verified.add_metric([], last[0].timestamp() if last else 0.0)
        yield verified
        length = GaugeMetricFamily(
            "appliance_audit_chain_length",
            "Number of events in the audit chain (its head's last seq); never falls unless events "
            "were removed or an older database was restored.",
        )
        length.add_metric([], float(chain_length))
        yield length

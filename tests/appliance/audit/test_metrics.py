from __future__ import annotations

from prometheus_client import CollectorRegistry
from sqlalchemy import text

from appliance.audit.metrics import AuditChainCollector
from appliance.audit.record import Outcome, record_event
from appliance.runtime import Appliance


def _length(appliance: Appliance) -> float | None:
    registry = CollectorRegistry()
    registry.register(AuditChainCollector(appliance.engine))
    return registry.get_sample_value("appliance_audit_chain_length")


def test_the_chain_length_is_exported_as_a_gauge(appliance: Appliance) -> None:
    assert _length(appliance) == 0.0
    for n in range(5):
        record_event("test.event", Outcome.ALLOWED, object_type="thing", object_id=n)
    assert _length(appliance) == 5.0


def test_the_chain_length_falls_when_the_head_is_set_back(appliance: Appliance) -> None:
    """What the ApplianceAuditChainShortened alert watches: a head put back to an earlier state
    (a replayed copy of an older head verifies, having been sealed by the appliance itself)."""
    for n in range(5):
        record_event("test.event", Outcome.ALLOWED, object_type="thing", object_id=n)
    with appliance.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq > 3"))
        connection.execute(
            text(
                "UPDATE audit_head SET last_seq = 3, "
                "last_mac = (SELECT mac FROM audit_events WHERE seq = 3)"
            )
        )
    assert _length(appliance) == 3.0

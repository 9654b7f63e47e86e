"""THE audit hook: every security-relevant event in the appliance goes through `record_event`.

Issue #3 turns this into the HMAC-chained, append-only audit table; until then each event is
written as one JSON line to the `appliance.audit` logger (journald keeps it). Events carry ids,
never PHI and never free text typed by a person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from appliance import clock
from appliance.request_context import current_request

logger = logging.getLogger("appliance.audit")


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    FAILED = "failed"


@dataclass(frozen=True)
class AuditEvent:
    action: str
    outcome: Outcome
    actor_id: int | None = None
    actor_role: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    # A code from a fixed vocabulary (e.g. "bad_password", "locked"); never free text.
    reason: str | None = None
    source_ip: str | None = None
    request_id: str | None = None
    at: datetime = field(default_factory=clock.utcnow)


# Extra receivers (tests, later the metrics counter). Kept as a plain list on purpose:
# there is one process-wide audit trail, and a receiver that raises must stop the request.
receivers: list[Callable[[AuditEvent], None]] = []


def record_event(
    action: str,
    outcome: Outcome,
    *,
    actor_id: int | None = None,
    actor_role: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    reason: str | None = None,
) -> AuditEvent:
    request = current_request.get()
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor_id=actor_id,
        actor_role=actor_role,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        reason=reason,
        source_ip=request.source_ip if request else None,
        request_id=request.request_id if request else None,
    )
    payload = asdict(event)
    payload["at"] = event.at.isoformat()
    logger.info(json.dumps(payload, sort_keys=True))
    for receiver in receivers:
        receiver(event)
    return event

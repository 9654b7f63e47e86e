"""THE audit hook: every security-relevant event in the appliance goes through `record_event`.

Each event goes to two places: the HMAC-chained `audit_events` table (appliance.audit.chain)
and one JSON line on the `appliance.audit` logger, so journald can ship it off the box.
Events carry ids and fixed codes, never PHI and never free text typed by a person.

Inside a unit of work the event is appended as that transaction's last step, so an allowed
action and its record commit together; if the transaction rolls back, denials and failures
are still written (in a fresh transaction), while "allowed" records of undone work are not.

Object ids often come straight from a URL. One that is not shaped like an id the appliance
makes is recorded as `INVALID_OBJECT_ID`, with its outcome kept: written raw, a 70-character id
overflowed audit_events.object_id (VARCHAR(64)) on PostgreSQL, failing the request with a 500
and losing the very denial it was recording; and text typed into a URL does not belong in the
trail an auditor exports.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import Session

from appliance import clock, metrics
from appliance.audit.chain import EventData, append_events
from appliance.db import Unit, current_unit, unit_of_work
from appliance.request_context import current_request
from appliance.roles import Actor

logger = logging.getLogger("appliance.audit")


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    FAILED = "failed"


class _Trail:
    """Where events are persisted: set once per process by `attach` (appliance.runtime)."""

    engine: Engine | None = None
    key: bytes = b""


_trail = _Trail()

# Extra receivers (tests). A receiver that raises stops the request, on purpose.
receivers: list[Callable[[EventData], None]] = []
_PENDING = "audit.pending"

# Every id the appliance makes fits: 32 hex characters, integers, key ids, setting names. The
# length is audit_events.object_id's.
_OBJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
INVALID_OBJECT_ID = "invalid"

_allowed_unrecorded: ContextVar[bool] = ContextVar("audit_allowed_unrecorded", default=False)


def _object_id(value: str | int | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if _OBJECT_ID.fullmatch(text) else INVALID_OBJECT_ID


@contextmanager
def allowed_reads_unrecorded() -> Iterator[None]:
    """Inside, "allowed" events are dropped; denials and failures are recorded as always.

    Only for an access check repeated by a page on its own (the dictation progress poll, every
    2 s), whose read was recorded when the person opened the page: recording each repeat would
    bury the log in identical lines. Wrap the check only, never work that changes anything.
    """
    token = _allowed_unrecorded.set(True)
    try:
        yield
    finally:
        _allowed_unrecorded.reset(token)


def allowed_reads_are_recorded() -> bool:
    """False inside `allowed_reads_unrecorded`: what counts an access must not count a repeat
    the trail leaves out either (the emergency-use metric)."""
    return not _allowed_unrecorded.get()


def attach(engine: Engine, key: bytes) -> None:
    _trail.engine, _trail.key = engine, key


def record_event(
    action: str,
    outcome: Outcome,
    *,
    actor_id: int | None = None,
    actor_role: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    reason: str | None = None,
) -> EventData:
    request = current_request.get()
    event = EventData(
        at=clock.utcnow(),
        action=action,
        outcome=outcome.value,
        actor_id=actor_id,
        actor_role=actor_role,
        object_type=object_type,
        object_id=_object_id(object_id),
        reason=reason,
        source_ip=request.source_ip if request else None,
        request_id=request.request_id if request else None,
    )
    if outcome is Outcome.ALLOWED and _allowed_unrecorded.get():
        return event
    payload = asdict(event)
    payload["at"] = event.at.isoformat()
    logger.info(json.dumps(payload, sort_keys=True))
    for receiver in receivers:
        receiver(event)
    unit = current_unit.get()
    if unit is not None:
        _queue(unit, event)
    elif _trail.engine is not None:
        _persist([event])
    return event


def record_by(
    who: Actor | None,
    action: str,
    outcome: Outcome = Outcome.ALLOWED,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    reason: str | None = None,
) -> EventData:
    """`record_event` for an event done by someone: a person (identity.accounts.actor_for turns
    a User row into an Actor), or None for the operator at the shell (CLI, Ansible), recorded as
    "system"."""
    actor_id, role = (None, "system") if who is None else (who.user_id, who.role.value)
    return record_event(
        action,
        outcome,
        actor_id=actor_id,
        actor_role=role,
        object_type=object_type,
        object_id=object_id,
        reason=reason,
    )


def _queue(unit: Unit, event: EventData) -> None:
    pending: list[EventData] | None = unit.state.get(_PENDING)
    if pending is None:
        pending = unit.state[_PENDING] = []

        def flush(db: Session) -> None:
            if _trail.engine is not None:
                _append(db, pending)

        def after_rollback() -> None:
            survivors = [e for e in pending if e.outcome != Outcome.ALLOWED]
            if survivors and _trail.engine is not None:
                _persist(survivors)

        unit.before_commit.append(flush)
        unit.after_rollback.append(after_rollback)
    pending.append(event)


def _persist(events: list[EventData]) -> None:
    assert _trail.engine is not None
    with unit_of_work(_trail.engine) as db:
        _append(db, events)


def _append(db: Session, events: list[EventData]) -> None:
    append_events(db, _trail.key, events)
    for event in events:
        metrics.AUDIT_EVENTS.labels(event.action, event.outcome).inc()

"""The tamper-evident audit table: append under the head-row lock, and verify end to end.

Each event's MAC is HMAC-SHA256(audit key, previous MAC || canonical bytes of the event). A row
changed, deleted, inserted or moved breaks the chain at that row, and `verify_chain` names it.

The head row (last seq, last MAC) is sealed too, by its own HMAC under the same key. Every
event's MAC is readable in the table, so without that seal anyone able to write the database
could delete the newest events, point the head at the new last one, and the chain would verify.
What the seal cannot catch is a head put back to a state the appliance itself sealed earlier (a
copy kept from then, or an empty chain): the `appliance_audit_chain_length` gauge falls in that
case, and the ApplianceAuditChainShortened alert fires.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from appliance.db import read_only
from appliance.models import AuditEvent, AuditHead

# The chain's fields, in the order they are MACed. Changing this list breaks every chain.
CHAINED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "reason",
    "source_ip",
    "request_id",
)
VERIFY_PAGE = 2000
# Written into `head_mac` when an append finds a head this key did not seal, followed by the seq
# of the first event appended on top of it. The appliance goes on recording (a broken trail is
# better than none), but never re-seals such a head: the evidence must survive later appends.
TAMPERED = "tampered:"

logger = logging.getLogger("appliance.audit")


@dataclass(frozen=True)
class EventData:
    """An event before it has a place in the chain."""

    at: datetime
    action: str
    outcome: str
    actor_id: int | None = None
    actor_role: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    reason: str | None = None
    source_ip: str | None = None
    request_id: str | None = None


def canonical_bytes(row: AuditEvent) -> bytes:
    values = {name: getattr(row, name) for name in CHAINED_FIELDS}
    values["at"] = row.at.isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode()


def event_mac(key: bytes, previous_mac: str, row: AuditEvent) -> str:
    return hmac.new(key, previous_mac.encode() + canonical_bytes(row), hashlib.sha256).hexdigest()


def head_mac(key: bytes, last_seq: int, last_mac: str) -> str:
    # Its own message shape ("audit_head:..."; an event's starts with a hex MAC or "{"), so a
    # head MAC can never pass for an event's MAC, nor the reverse.
    return hmac.new(key, f"audit_head:{last_seq}:{last_mac}".encode(), hashlib.sha256).hexdigest()


def head_is_sealed(key: bytes, head: AuditHead) -> bool:
    if head.last_seq == 0 and head.last_mac == "":
        # The empty chain protects nothing, so it needs no seal: a database migrated without
        # the keys (tests, a developer's) starts here. Emptying a used chain back to this state
        # is the replay case the length gauge's alert is for.
        return True
    # Bytes, not str: compare_digest raises on non-ASCII text, which anyone who can write the
    # table could put there, and every request would then fail to record its event.
    expected = head_mac(key, head.last_seq, head.last_mac)
    return hmac.compare_digest(head.head_mac.encode(), expected.encode())


def append_events(db: Session, key: bytes, events: Iterable[EventData]) -> list[AuditEvent]:
    """Append in order, inside the caller's transaction, and re-seal the head.

    The head row is locked (FOR UPDATE on PostgreSQL; SQLite transactions already hold the
    write lock) so two workers can never both extend the same MAC: no forked chain. Callers
    append as the last step of their transaction, so the head lock is always taken last and
    lock order cannot invert into a deadlock.
    """
    head = db.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    # Checked before extending: sealing whatever head we find would launder a rewound one.
    sealed = head_is_sealed(key, head)
    first_seq = head.last_seq + 1
    rows = []
    for event in events:
        row = AuditEvent(seq=head.last_seq + 1, mac="", **asdict(event))
        row.mac = event_mac(key, head.last_mac, row)
        db.add(row)
        head.last_seq, head.last_mac = row.seq, row.mac
        rows.append(row)
    if sealed:
        head.head_mac = head_mac(key, head.last_seq, head.last_mac)
    elif rows and not head.head_mac.startswith(TAMPERED):
        logger.error(
            "audit head not sealed by the audit key before event %s: set back or changed",
            first_seq,
        )
        head.head_mac = f"{TAMPERED}{first_seq}"
    db.add(head)
    db.flush()
    return rows


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify_chain(engine: Engine, key: bytes) -> ChainReport:
    """Walk every event in order; stop at the first that does not follow from the one before."""
    previous_mac, expected_seq, count = "", 1, 0
    with read_only(engine) as db:
        while True:
            page = db.exec(
                select(AuditEvent)
                .where(AuditEvent.seq >= expected_seq)
                .order_by(col(AuditEvent.seq))
                .limit(VERIFY_PAGE)
            ).all()
            for row in page:
                if row.seq != expected_seq:
                    return ChainReport(
                        False,
                        count,
                        row.seq,
                        f"event {row.seq} follows event {expected_seq - 1}: "
                        f"{row.seq - expected_seq} event(s) missing before it",
                    )
                if not hmac.compare_digest(row.mac, event_mac(key, previous_mac, row)):
                    return ChainReport(
                        False,
                        count,
                        row.seq,
                        f"event {row.seq} does not match its MAC: changed, inserted or moved",
                    )
                previous_mac, expected_seq, count = row.mac, expected_seq + 1, count + 1
            if len(page) < VERIFY_PAGE:
                break
        head = db.get(AuditHead, 1)
    if head is None or head.last_seq != count or head.last_mac != previous_mac:
        last = head.last_seq if head else 0
        return ChainReport(
            False,
            count,
            count + 1,
            f"the chain ends at event {count} but the head says {last}: "
            "events removed from the end",
        )
    return _check_head_seal(key, head, count)


def _check_head_seal(key: bytes, head: AuditHead, count: int) -> ChainReport:
    if head_is_sealed(key, head):
        return ChainReport(True, count)
    if head.head_mac.startswith(TAMPERED):
        marked = head.head_mac.removeprefix(TAMPERED)
        seq = int(marked) if marked.isascii() and marked.isdigit() else count + 1
        return ChainReport(
            False,
            count,
            seq,
            f"the head was set back or changed without the audit key before event {seq} was "
            f"appended: events after {seq - 1} may have been removed and their numbers reused",
        )
    return ChainReport(
        False,
        count,
        count + 1,
        f"the head (event {count}) does not match its MAC: it was set back or changed "
        f"without the audit key, and events after {count} may have been removed",
    )

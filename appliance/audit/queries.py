"""Reading the audit log: auditors only, filtered, paginated, exportable; reading is audited."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from appliance.access import require_role
from appliance.audit.record import Outcome, record_by
from appliance.models import AuditEvent, User
from appliance.roles import Actor, Role

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


class FilterError(ValueError):
    """A filter value the auditor typed cannot be used; the message names the field."""


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    action: str = ""
    outcome: str = ""
    date_from: str = ""
    date_to: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class EventRow:
    seq: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    reason: str
    source_ip: str
    request_id: str

    @property
    def emergency(self) -> bool:
        return self.action.startswith("emergency.") or self.reason.startswith("emergency_grant")


@dataclass(frozen=True)
class EventPage:
    rows: list[EventRow]
    page: int
    pages: int
    total: int


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{field}: use the form YYYY-MM-DD.") from None


def _filtered(
    db: Session, query: SelectOfScalar[AuditEvent], spec: AuditFilter
) -> SelectOfScalar[AuditEvent]:
    if spec.username:
        user = db.exec(select(User).where(User.username == spec.username.strip().lower())).first()
        query = query.where(AuditEvent.actor_id == (user.id if user else -1))
    if spec.action:
        query = query.where(col(AuditEvent.action).startswith(spec.action.strip()))
    if spec.outcome:
        if spec.outcome not in {o.value for o in Outcome}:
            raise FilterError("Outcome: choose allowed, denied or failed.")
        query = query.where(AuditEvent.outcome == spec.outcome)
    start, end = _day(spec.date_from, "From"), _day(spec.date_to, "To")
    if start:
        query = query.where(AuditEvent.at >= datetime.combine(start, time.min, UTC))
    if end:
        query = query.where(
            AuditEvent.at < datetime.combine(end + timedelta(days=1), time.min, UTC)
        )
    return query


def _rows(db: Session, events: list[AuditEvent]) -> list[EventRow]:
    names = {u.id: u.username for u in db.exec(select(User))}
    return [
        EventRow(
            seq=e.seq,
            at=e.at,
            actor=names.get(e.actor_id, "") if e.actor_id is not None else "",
            actor_role=e.actor_role or "",
            action=e.action,
            object_type=e.object_type or "",
            object_id=e.object_id or "",
            outcome=e.outcome,
            reason=e.reason or "",
            source_ip=e.source_ip or "",
            request_id=e.request_id or "",
        )
        for e in events
    ]


def _audit_read(by: Actor, action: str) -> None:
    record_by(by, action)


def search_events(db: Session, by: Actor, spec: AuditFilter, page: int = 1) -> EventPage:
    require_role(by, Role.AUDITOR, action="audit.view")
    base = _filtered(db, select(AuditEvent), spec)
    total = db.exec(select(func.count()).select_from(base.subquery())).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    events = db.exec(
        base.order_by(col(AuditEvent.seq).desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    _audit_read(by, "audit.view")
    return EventPage(_rows(db, list(events)), page, pages, total)


CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "reason",
    "source_ip",
    "request_id",
)


# What a spreadsheet may read as the start of a formula: = + - @, and a tab or carriage return,
# which Excel and LibreOffice skip before looking for one (OWASP's CSV injection list).
FORMULA_STARTS = "=+-@\t\r"


def _inert(value: object) -> object:
    """Neutralise spreadsheet formulas by prefixing a quote. An empty cell stays empty
    (`"" in FORMULA_STARTS` is true in Python: the reason for the first test)."""
    if isinstance(value, str) and value and value[0] in FORMULA_STARTS:
        return f"'{value}"
    return value


def export_csv(db: Session, by: Actor, spec: AuditFilter) -> str:
    require_role(by, Role.AUDITOR, action="audit.export")
    events = db.exec(
        _filtered(db, select(AuditEvent), spec).order_by(col(AuditEvent.seq)).limit(EXPORT_LIMIT)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _rows(db, list(events)):
        values = [getattr(row, c) for c in CSV_COLUMNS]
        values[1] = row.at.isoformat()
        writer.writerow([_inert(v) for v in values])
    _audit_read(by, "audit.export")
    return out.getvalue()

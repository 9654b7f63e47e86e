"""Prometheus view of the notes, read from the database at scrape time (several processes
sharing one database report one truth). Counts only: no label carries PHI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from appliance import clock
from appliance.crypto.keyfiles import Keys
from appliance.db import read_only
from appliance.models import Client, Dictation, Note
from appliance.notes.store import NoteState
from appliance.practice.preferences import note_due_days
from appliance.records.session_details import sessions_of


class NoteCollector(Collector):
    """Overdue is counted by unsealing the unsigned notes' session dates (sealed: dates of
    service are PHI). Only drafts are read, a practice's week or two of work, so a scrape
    unwraps a few dozen keys, not the whole record."""

    def __init__(self, engine: Engine, keys: Keys) -> None:
        self.engine, self.keys = engine, keys

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_only(self.engine) as db:
            counts = dict(db.exec(select(Note.state, func.count()).group_by(col(Note.state))).all())
            cutoff = clock.utcnow().date() - timedelta(days=note_due_days(db))
            drafts = db.exec(
                select(Dictation)
                .join(Note, col(Note.dictation_id) == col(Dictation.id))
                .join(Client, col(Client.id) == col(Dictation.client_id))
                .where(Note.state == NoteState.DRAFT.value, col(Client.deleted_at).is_(None))
            ).all()
            sessions = sessions_of(db, self.keys, drafts)
            overdue = sum(1 for details in sessions.values() if details.session_date < cutoff)
        by_state = GaugeMetricFamily("appliance_notes", "Notes by state.", labels=["state"])
        for state in NoteState:
            by_state.add_metric([state.value], float(counts.get(state.value, 0)))
        yield by_state
        late = GaugeMetricFamily(
            "appliance_notes_overdue",
            "Unsigned notes whose session is older than the practice's due days.",
        )
        late.add_metric([], float(overdue))
        yield late

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
from appliance.db import read_only
from appliance.models import Dictation, Note
from appliance.notes.store import NoteState
from appliance.practice.preferences import note_due_days


class NoteCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_only(self.engine) as db:
            counts = dict(db.exec(select(Note.state, func.count()).group_by(col(Note.state))).all())
            cutoff = clock.utcnow().date() - timedelta(days=note_due_days(db))
            overdue = db.exec(
                select(func.count())
                .select_from(Note)
                .join(Dictation, col(Dictation.id) == col(Note.dictation_id))
                .where(Note.state == NoteState.DRAFT.value, col(Dictation.session_date) < cutoff)
            ).one()
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

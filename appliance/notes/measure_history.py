"""A client's PHQ-9, GAD-7 and SUD over sessions, for the chart on the client's page.

The scores already live as structured fields in every note: in the signed record's canonical
document once the note is signed (that document is the record, so it wins), and in the sealed
working copy while it is a draft (the latest the clinician saved, shown as unsigned). They are
read from there, through the client's access rule, rather than copied into a table of their
own: a copy would be one more sealed store to keep in step with every autosave and to shred with
the client, for a read that takes about 6 ms for fifty sessions (40 signed, 10 drafts; SQLite,
the 2-core development machine, 2026-11-27), keys opened in one batch.

A field's value is text the clinician may have edited ("11 (down from 15)", "8 out of 10",
"not done", "about 11?"), so it is read strictly: one number, in digits or words, optionally
"out of" the scale's own maximum and the "(down from n)" a draft writes; anything else is left
out and said so, never guessed. A value outside the scale (a misheard "PHQ-9 of 31") is left out
too. Addenda are free text and are not read: a score an addendum corrects is plotted as signed,
and the note the table links to shows the addendum.

SUD: EMDR notes carry `sud_start` and `sud_end`; every other modality a `sud` list in dictation
order, where "3 (down from 8)" says both (start 8, end 3), a single value is the start (as the
EMDR fields read a value with no marker), and with several the first is the start and the last
the end. Both are plotted: the start across sessions shows whether gains held between sessions,
the end what one session reached.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from appliance.audit.record import record_by
from appliance.crypto.envelope import open_record_keys, unseal
from appliance.crypto.keyfiles import Keys
from appliance.drafting.measures import parse_number
from appliance.identity.emergency_access import record_use
from appliance.models import Dictation, Note, NoteRecord
from appliance.notes.body import NoteBody
from appliance.notes.store import RECORDS_TABLE, TABLE, NoteState, RecordKind
from appliance.records.clients import get_client
from appliance.records.session_details import sessions_of
from appliance.roles import Actor

ACTION = "client.measures"


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    low: int
    high: int
    whole: bool  # a sum of item scores (PHQ-9, GAD-7) is a whole number; a SUD may be 2.5


PHQ_9 = Series("phq_9", "PHQ-9", 0, 27, whole=True)
GAD_7 = Series("gad_7", "GAD-7", 0, 21, whole=True)
SUD_START = Series("sud_start", "SUD at start", 0, 10, whole=False)
SUD_END = Series("sud_end", "SUD at end", 0, 10, whole=False)
SERIES = (PHQ_9, GAD_7, SUD_START, SUD_END)
# The `sud` list of modalities other than EMDR, before its values are read as start and end.
SUD = Series("sud", "SUD", 0, 10, whole=False)


class Reason(StrEnum):
    """Why a value is not plotted (fixed wording: shown on the page, never audited)."""

    NOT_DONE = "recorded as not done"
    NOT_A_NUMBER = "not a single number"
    OUT_OF_RANGE = "outside the scale"
    NOT_WHOLE = "not a whole number (a sum of item scores)"
    ANOTHER_SCALE = "not on this scale"
    REPEATED = "a further value in the same note; the first is plotted"


@dataclass(frozen=True)
class LeftOut:
    series: Series
    text: str  # the value as the note holds it
    reason: Reason

    @property
    def message(self) -> str:
        if self.reason in (Reason.OUT_OF_RANGE, Reason.ANOTHER_SCALE):
            return f"{self.reason.value} ({self.series.low} to {self.series.high})"
        return self.reason.value


@dataclass(frozen=True)
class SessionMeasures:
    """One session's plotted values, from its signed note or else its draft."""

    note_id: str
    session_date: date
    signed: bool
    values: Mapping[str, float]  # series key -> value; a series absent when not measured
    left_out: tuple[LeftOut, ...] = ()


@dataclass(frozen=True)
class MeasureHistory:
    # Oldest session first; only sessions whose note has a value or a value left out.
    sessions: tuple[SessionMeasures, ...]

    def values_of(self, series: Series) -> list[tuple[SessionMeasures, float]]:
        return [(s, s.values[series.key]) for s in self.sessions if series.key in s.values]


def shown(value: float) -> str:
    """A value as the page writes it: 11, 2.5."""
    return f"{value:g}"


# Field values are at most a few words; a longer text is no score, and is not searched.
_MAX_VALUE = 48
_VALUE = re.compile(
    r"\s*(?P<number>[^()/]+?)"
    r"(?:\s*(?:/|\bout\s+of\b)\s*(?P<out_of>[\w-]+))?"
    r"(?:\s*\(\s*(?:(?:down|up)\s+)?from\s+(?P<previous>\d+(?:\.\d+)?)\s*\))?\s*",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_NOT_DONE = re.compile(r"\bnot done\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Reading:
    value: float
    previous: float | None


def _number(text: str) -> float | None:
    """Digits ("11", "2.5") or words ("eleven", "forty-seven")."""
    said = text.strip()
    return float(said) if _DIGITS.fullmatch(said) else parse_number(said)


def _read(text: str, series: Series, *, previous_on_scale: bool = False) -> _Reading | Reason:
    """`previous_on_scale`: the "(down from n)" is this session's too (a SUD's start), so it
    must be on the scale as well ("3 (down from 80)" is a 0-100 SUD)."""
    if _NOT_DONE.search(text[:_MAX_VALUE]):
        return Reason.NOT_DONE
    match = _VALUE.fullmatch(text) if len(text) <= _MAX_VALUE else None
    if match is None:
        return Reason.NOT_A_NUMBER
    value = _number(match["number"])
    if value is None:
        return Reason.NOT_A_NUMBER
    if match["out_of"] is not None and _number(match["out_of"]) != series.high:
        return Reason.ANOTHER_SCALE
    if not series.low <= value <= series.high:
        return Reason.OUT_OF_RANGE
    if series.whole and not float(value).is_integer():
        return Reason.NOT_WHOLE
    previous = None if match["previous"] is None else float(match["previous"])
    if previous_on_scale and previous is not None and not series.low <= previous <= series.high:
        return Reason.OUT_OF_RANGE
    return _Reading(float(value), previous)


def _first(
    texts: Sequence[str], series: Series, values: dict[str, float], left_out: list[LeftOut]
) -> None:
    """One value a session: the first usable one ("11 (down from 15)" is 11: the 15 was
    another session's)."""
    for text in texts:
        reading = _read(text, series)
        if isinstance(reading, Reason):
            left_out.append(LeftOut(series, text, reading))
        elif series.key in values:
            left_out.append(LeftOut(series, text, Reason.REPEATED))
        else:
            values[series.key] = reading.value


def read_measures(fields: Mapping[str, Sequence[str]]) -> tuple[dict[str, float], list[LeftOut]]:
    """The plotted values of one note's fields (name -> value texts, in dictation order), and
    the values left out with the reason."""
    values: dict[str, float] = {}
    left_out: list[LeftOut] = []
    _first(fields.get("phq_9", ()), PHQ_9, values, left_out)
    _first(fields.get("gad_7", ()), GAD_7, values, left_out)
    if "sud_start" in fields or "sud_end" in fields:  # EMDR: said with their roles
        _first(fields.get("sud_start", ()), SUD_START, values, left_out)
        _first(fields.get("sud_end", ()), SUD_END, values, left_out)
        return values, left_out
    said: list[float] = []
    for text in fields.get("sud", ()):
        reading = _read(text, SUD, previous_on_scale=True)
        if isinstance(reading, Reason):
            left_out.append(LeftOut(SUD, text, reading))
            continue
        if reading.previous is not None:
            said.append(reading.previous)
        said.append(reading.value)
    if said:
        values[SUD_START.key] = said[0]
    if len(said) > 1:
        values[SUD_END.key] = said[-1]
    return values, left_out


def _signed_fields(document: Mapping[str, object]) -> dict[str, list[str]]:
    items = document.get("fields")
    assert isinstance(items, list)
    return {str(item["name"]): [str(v["value"]) for v in item["values"]] for item in items}


def _fields_of_notes(
    db: Session, keys: Keys, notes: Sequence[Note]
) -> dict[str, dict[str, list[str]]]:
    """note id -> its fields: the signed note's record, else the working copy.

    Opened here in two queries and one batch of keys, rather than with store.open_records and
    store.read_body note by note (a query and a key each, for every addendum and co-signature
    too): a client seen weekly for years has hundreds of notes, and this runs on every view of
    the client's page. The sealing is store's: its tables and fields, the document as signed.
    """
    signed = [note.id for note in notes if note.state != NoteState.DRAFT]
    records = db.exec(
        select(NoteRecord).where(
            col(NoteRecord.note_id).in_(signed), NoteRecord.kind == RecordKind.NOTE.value
        )
    ).all()
    drafts = [note for note in notes if note.state == NoteState.DRAFT and note.body_sealed]
    opened = open_record_keys(
        db,
        keys.keks,
        sorted({row.data_key_id for row in records} | {note.data_key_id for note in drafts}),
    )
    fields: dict[str, dict[str, list[str]]] = {}
    for row in records:
        key, field = opened[row.data_key_id], f"{row.kind}.document"
        document = json.loads(unseal(key, RECORDS_TABLE, row.note_id, field, row.document_sealed))
        fields[row.note_id] = _signed_fields(document)
    for note in drafts:
        assert note.body_sealed is not None
        sealed = unseal(opened[note.data_key_id], TABLE, note.id, "body", note.body_sealed)
        body = NoteBody.from_json(json.loads(sealed))
        fields[note.id] = {name: [v.value for v in values] for name, values in body.fields.items()}
    return fields


def measure_history(db: Session, keys: Keys, actor: Actor, client_id: str) -> MeasureHistory:
    """The client's measures over sessions, for whoever may read the client (its clinician,
    their supervisor, an emergency grantee); NotFound or AccessDenied (audited) otherwise. The
    read is one audit event for the client, naming no value, date or note."""
    client = get_client(db, keys, actor, client_id)
    rows = db.exec(
        select(Note, Dictation)
        .join(Dictation, col(Dictation.id) == col(Note.dictation_id))
        .where(Note.client_id == client_id)
    ).all()
    details = sessions_of(db, keys, [dictation for _, dictation in rows])
    fields = _fields_of_notes(db, keys, [note for note, _ in rows])
    found: list[tuple[tuple[date, str, datetime], SessionMeasures]] = []
    for note, dictation in rows:
        if note.id not in fields:
            continue
        values, left_out = read_measures(fields[note.id])
        if not values and not left_out:
            continue
        session = details[dictation.id]
        signed = note.state != NoteState.DRAFT
        order = (session.session_date, session.start_time or "", note.created_at)
        found.append(
            (order, SessionMeasures(note.id, session.session_date, signed, values, tuple(left_out)))
        )
    if client.emergency_grant_id is None:
        record_by(actor, ACTION, object_type="client", object_id=client_id)
    else:
        record_use(actor, client.emergency_grant_id, ACTION, client_id)
    found.sort(key=lambda item: item[0])
    return MeasureHistory(tuple(session for _, session in found))

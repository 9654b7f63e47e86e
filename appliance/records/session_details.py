"""A session's details (date, start time, duration, service code, modality), sealed.

Dates of service are PHI: stored in the clear beside a client id they said when a named person
was in therapy, and the service code and modality say what kind. They are sealed under the
client's data key, not the dictation's: the dictation's key is shredded once its note is signed
(with the machine draft), while the queues, the export and the note's due date still need the
session; and the client's key is the one shredded when the client is deleted, taking these with
the rest of the client's record.

The note format stays in the clear: it is the practice's choice of template, the same for every
client, and the drafting job reads it without a key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from appliance.crypto.envelope import RecordKey, open_record_key, open_record_keys, seal, unseal
from appliance.crypto.keyfiles import Keys
from appliance.models import Client, Dictation

TABLE = "dictations"
FIELD = "session"


@dataclass(frozen=True)
class SessionDetails:
    session_date: date
    start_time: str | None
    duration_minutes: int
    service_code: str
    modality: str
    note_format: str


def _document(details: SessionDetails) -> str:
    return json.dumps(
        {
            "date": details.session_date.isoformat(),
            "start_time": details.start_time,
            "duration_minutes": details.duration_minutes,
            "service_code": details.service_code,
            "modality": details.modality,
        },
        sort_keys=True,
    )


def seal_session(key: RecordKey, dictation_id: str, details: SessionDetails) -> bytes:
    """`key` is the client's data key."""
    return seal(key, TABLE, dictation_id, FIELD, _document(details))


def _details(key: RecordKey, row: Dictation) -> SessionDetails:
    values = json.loads(unseal(key, TABLE, row.id, FIELD, row.session_sealed))
    return SessionDetails(
        session_date=date.fromisoformat(values["date"]),
        start_time=values["start_time"],
        duration_minutes=int(values["duration_minutes"]),
        service_code=values["service_code"],
        modality=values["modality"],
        note_format=row.note_format,
    )


def client_key_id(db: Session, client_id: str) -> int:
    client = db.get(Client, client_id)
    assert client is not None
    return client.data_key_id


def session_of(db: Session, keys: Keys, row: Dictation) -> SessionDetails:
    """Raises KeyShredded once the client is deleted: callers reach live clients only."""
    return _details(open_record_key(db, keys.keks, client_key_id(db, row.client_id)), row)


def sessions_of(db: Session, keys: Keys, rows: Sequence[Dictation]) -> dict[str, SessionDetails]:
    """Many at once (queues, metrics, exports): one query for the clients' keys, not one per row."""
    if not rows:
        return {}
    client_ids = sorted({row.client_id for row in rows})
    key_ids = dict(
        db.exec(select(Client.id, Client.data_key_id).where(col(Client.id).in_(client_ids))).all()
    )
    opened = open_record_keys(db, keys.keks, sorted(set(key_ids.values())))
    return {row.id: _details(opened[key_ids[row.client_id]], row) for row in rows}

"""Work lists: a clinician's notes to sign, a supervisor's notes to co-sign, a client's notes.

Overdue is measured from the session, as payers and licensing boards do: a note is due within
the practice's number of days (Admin -> Settings) after the session it documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from appliance import clock
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import supervisee_ids
from appliance.models import Dictation, Note, User
from appliance.notes.store import NoteState
from appliance.practice.preferences import note_due_days
from appliance.records.clients import list_clients
from appliance.records.session_details import sessions_of
from appliance.roles import Actor, Role


@dataclass(frozen=True)
class NoteItem:
    note_id: str
    client_id: str
    client_name: str
    clinician: str
    session_date: date
    state: str
    days_waiting: int  # since the session
    overdue: bool
    returned: bool = False


def _items(
    db: Session, keys: Keys, actor: Actor, rows: list[tuple[Note, Dictation, User]]
) -> list[NoteItem]:
    if not rows:
        return []
    names = {c.id: c.display_name for c in list_clients(db, keys, actor)}
    today, due = clock.utcnow().date(), note_due_days(db)
    live = [row for row in rows if row[0].client_id in names]  # a deleted client's are gone
    # Sealed (dates of service are PHI), so ordered here rather than by the database.
    dates = {
        dictation_id: details.session_date
        for dictation_id, details in sessions_of(db, keys, [d for _, d, _ in live]).items()
    }
    items = [
        NoteItem(
            note_id=note.id,
            client_id=note.client_id,
            client_name=names[note.client_id],
            clinician=owner.username,
            session_date=dates[dictation.id],
            state=note.state,
            days_waiting=(today - dates[dictation.id]).days,
            overdue=(today - dates[dictation.id]).days > due,
            returned=note.returned_at is not None,
        )
        for note, dictation, owner in live
    ]
    return sorted(items, key=lambda i: (i.session_date, i.client_name.lower()))


def _rows(
    db: Session, *conditions: ColumnElement[bool] | bool
) -> list[tuple[Note, Dictation, User]]:
    statement = (
        select(Note, Dictation, User)
        .join(Dictation, col(Dictation.id) == col(Note.dictation_id))
        .join(User, col(User.id) == col(Note.owner_id))
        .where(*conditions)
    )
    return list(db.exec(statement).all())


def notes_to_sign(db: Session, keys: Keys, actor: Actor) -> list[NoteItem]:
    """The clinician's unsigned notes, oldest session first."""
    if actor.role is not Role.CLINICIAN:
        return []
    rows = _rows(db, Note.owner_id == actor.user_id, Note.state == NoteState.DRAFT.value)
    return _items(db, keys, actor, rows)


def to_sign_count(db: Session, actor: Actor) -> int:
    """For the navigation bar: a count only (no names decrypted, nothing audited)."""
    condition: ColumnElement[bool] | bool
    if actor.role is Role.CLINICIAN:
        condition = (Note.owner_id == actor.user_id) & (Note.state == NoteState.DRAFT.value)
    elif actor.role is Role.SUPERVISOR:
        condition = (
            col(Note.owner_id).in_(supervisee_ids(db, actor.user_id))
            & (Note.state == NoteState.AWAITING_COSIGN.value)
            & col(Note.returned_at).is_(None)
        )
    else:
        return 0
    return int(db.exec(select(func.count()).select_from(Note).where(condition)).one())


def cosign_queue(db: Session, keys: Keys, actor: Actor) -> list[NoteItem]:
    """Supervisees' signed notes waiting for this supervisor, oldest session first; returned
    notes are listed apart, until the clinician's addendum sends them back."""
    if actor.role is not Role.SUPERVISOR:
        return []
    rows = _rows(
        db,
        col(Note.owner_id).in_(supervisee_ids(db, actor.user_id)),
        Note.state == NoteState.AWAITING_COSIGN.value,
    )
    return _items(db, keys, actor, rows)


def note_states_by_dictation(db: Session, client_id: str) -> dict[str, tuple[str, str]]:
    """dictation id -> (note id, state), for the client page's list (the caller has already
    checked the client)."""
    rows = db.exec(
        select(Note.dictation_id, Note.id, Note.state).where(Note.client_id == client_id)
    ).all()
    return {dictation_id: (note_id, state) for dictation_id, note_id, state in rows}

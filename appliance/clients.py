"""Clients (the people in therapy). Every read and write checks role and ownership here.

Issue #3 encrypts display name, record number and birth date at rest; callers only ever see
`ClientView`, so that change stays inside this module.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from appliance import clock
from appliance.access import AccessDenied, Actor, NotFound
from appliance.accounts import supervisee_ids
from appliance.audit import Outcome, record_event
from appliance.models import Client, User
from appliance.roles import Role

MAX_NAME = 120
MAX_EXTERNAL_ID = 64


class ClientInputError(ValueError):
    """Bad form input; the message is for the clinician and names the field."""


@dataclass(frozen=True)
class ClientView:
    id: str
    display_name: str
    external_id: str | None
    date_of_birth: date | None
    owner_username: str
    read_only: bool


def _audit(action: str, actor: Actor, outcome: Outcome, client_id: str | None) -> None:
    record_event(
        action,
        outcome,
        actor_id=actor.user_id,
        actor_role=actor.role.value,
        object_type="client",
        object_id=client_id,
    )


def _deny(actor: Actor, action: str) -> AccessDenied:
    _audit(action, actor, Outcome.DENIED, None)
    return AccessDenied(f"{actor.role.value} may not {action}")


def _visible_owner_ids(db: Session, actor: Actor) -> list[int]:
    if actor.role is Role.CLINICIAN:
        return [actor.user_id]
    if actor.role is Role.SUPERVISOR:
        return supervisee_ids(db, actor.user_id)
    return []  # admin and auditor never see PHI


def _view(client: Client, owner: User, actor: Actor) -> ClientView:
    return ClientView(
        id=client.id,
        display_name=client.display_name,
        external_id=client.external_id,
        date_of_birth=client.date_of_birth,
        owner_username=owner.username,
        read_only=client.owner_id != actor.user_id,
    )


def validate_client_input(
    display_name: str, external_id: str, date_of_birth: str
) -> tuple[str, str | None, date | None]:
    name = " ".join(display_name.split())
    if not name:
        raise ClientInputError("Display name: enter a name or initials.")
    if len(name) > MAX_NAME:
        raise ClientInputError(f"Display name: at most {MAX_NAME} characters.")
    record_number = external_id.strip() or None
    if record_number is not None and len(record_number) > MAX_EXTERNAL_ID:
        raise ClientInputError(f"Record number: at most {MAX_EXTERNAL_ID} characters.")
    birth: date | None = None
    if date_of_birth.strip():
        try:
            birth = date.fromisoformat(date_of_birth.strip())
        except ValueError:
            raise ClientInputError("Date of birth: use the form YYYY-MM-DD.") from None
        if birth > clock.utcnow().date() or birth.year < 1900:
            raise ClientInputError("Date of birth: must be a past date after 1900.")
    return name, record_number, birth


def create_client(
    db: Session, actor: Actor, *, display_name: str, external_id: str = "", date_of_birth: str = ""
) -> ClientView:
    if actor.role is not Role.CLINICIAN:
        raise _deny(actor, "client.create")
    name, record_number, birth = validate_client_input(display_name, external_id, date_of_birth)
    if record_number is not None:
        clash = db.exec(
            select(Client.id).where(
                Client.owner_id == actor.user_id, Client.external_id == record_number
            )
        ).first()
        if clash is not None:
            raise ClientInputError("Record number: you already have a client with this number.")
    client = Client(
        id=secrets.token_hex(16),
        owner_id=actor.user_id,
        display_name=name,
        external_id=record_number,
        date_of_birth=birth,
        created_at=clock.utcnow(),
    )
    db.add(client)
    db.flush()
    _audit("client.create", actor, Outcome.ALLOWED, client.id)
    owner = db.get(User, actor.user_id)
    assert owner is not None
    return _view(client, owner, actor)


def list_clients(db: Session, actor: Actor) -> list[ClientView]:
    if actor.role not in (Role.CLINICIAN, Role.SUPERVISOR):
        raise _deny(actor, "client.list")
    owner_ids = _visible_owner_ids(db, actor)
    rows = db.exec(
        select(Client, User)
        .join(User, col(User.id) == col(Client.owner_id))
        .where(col(Client.owner_id).in_(owner_ids))
    ).all()
    views = [_view(client, owner, actor) for client, owner in rows]
    _audit("client.list", actor, Outcome.ALLOWED, None)
    # Sorted here, not in SQL: once names are encrypted (issue #3) the database cannot sort them.
    return sorted(views, key=lambda v: (v.read_only, v.owner_username, v.display_name.lower()))


def get_client(db: Session, actor: Actor, client_id: str) -> ClientView:
    if actor.role not in (Role.CLINICIAN, Role.SUPERVISOR):
        raise _deny(actor, "client.view")
    row = db.exec(
        select(Client, User)
        .join(User, col(User.id) == col(Client.owner_id))
        .where(Client.id == client_id)
    ).first()
    if row is None or row[0].owner_id not in _visible_owner_ids(db, actor):
        _audit("client.view", actor, Outcome.DENIED, client_id if row else None)
        raise NotFound("client")
    _audit("client.view", actor, Outcome.ALLOWED, client_id)
    return _view(row[0], row[1], actor)

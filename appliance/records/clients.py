"""Clients (the people in therapy). Every read and write checks role and ownership here.

Name, record number and birth date are stored only as ciphertext under the client's own data
key (appliance.crypto.envelope); callers see decrypted `ClientView`s and nothing else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from appliance import clock
from appliance.access import AccessDenied, NotFound
from appliance.audit.record import Outcome, record_by
from appliance.crypto.blind_index import blind_index
from appliance.crypto.envelope import (
    RecordKey,
    new_record_key,
    open_record_key,
    open_record_keys,
    seal,
    unseal,
)
from appliance.crypto.keyfiles import Keys
from appliance.identity.accounts import supervisee_ids
from appliance.identity.emergency_access import active_grants, record_use
from appliance.models import Client, User
from appliance.roles import Actor, Role

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
    # Set when the actor reads this client only through an emergency access grant.
    emergency_grant_id: int | None = None


def _audit(action: str, actor: Actor, outcome: Outcome, client_id: str | None) -> None:
    record_by(actor, action, outcome, object_type="client", object_id=client_id)


def _deny(actor: Actor, action: str) -> AccessDenied:
    _audit(action, actor, Outcome.DENIED, None)
    return AccessDenied(f"{actor.role.value} may not {action}")


def _visible_owners(db: Session, actor: Actor) -> dict[int, int | None]:
    """Owner ids this actor may read, each with the emergency grant that allows it (if any)."""
    if actor.role is Role.CLINICIAN:
        visible: dict[int, int | None] = dict(active_grants(db, actor.user_id))
        visible[actor.user_id] = None
        return visible
    if actor.role is Role.SUPERVISOR:
        return dict.fromkeys(supervisee_ids(db, actor.user_id))
    return {}  # admin and auditor never see PHI


TABLE = "clients"


def _view(
    db: Session,
    keys: Keys,
    client: Client,
    owner: User,
    actor: Actor,
    grant_id: int | None = None,
    key: RecordKey | None = None,
) -> ClientView:
    if key is None:
        key = open_record_key(db, keys.keks, client.data_key_id)

    def field(name: str, sealed: bytes | None) -> str | None:
        return None if sealed is None else unseal(key, TABLE, client.id, name, sealed)

    birth = field("date_of_birth", client.date_of_birth_sealed)
    return ClientView(
        id=client.id,
        display_name=field("display_name", client.display_name_sealed) or "",
        external_id=field("external_id", client.external_id_sealed),
        date_of_birth=date.fromisoformat(birth) if birth else None,
        owner_username=owner.username,
        read_only=client.owner_id != actor.user_id,
        emergency_grant_id=grant_id,
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
    db: Session,
    keys: Keys,
    actor: Actor,
    *,
    display_name: str,
    external_id: str = "",
    date_of_birth: str = "",
) -> ClientView:
    if actor.role is not Role.CLINICIAN:
        raise _deny(actor, "client.create")
    name, record_number, birth = validate_client_input(display_name, external_id, date_of_birth)
    index = (
        blind_index(keys.index, f"owner:{actor.user_id}", record_number)
        if record_number is not None
        else None
    )
    if index is not None:
        clash = db.exec(
            select(Client.id).where(
                Client.owner_id == actor.user_id, Client.external_id_index == index
            )
        ).first()
        if clash is not None:
            raise ClientInputError("Record number: you already have a client with this number.")
    client_id = secrets.token_hex(16)
    key = new_record_key(db, keys.keks, "client")
    client = Client(
        id=client_id,
        owner_id=actor.user_id,
        data_key_id=key.id,
        display_name_sealed=seal(key, TABLE, client_id, "display_name", name),
        external_id_sealed=(
            seal(key, TABLE, client_id, "external_id", record_number) if record_number else None
        ),
        external_id_index=index,
        date_of_birth_sealed=(
            seal(key, TABLE, client_id, "date_of_birth", birth.isoformat()) if birth else None
        ),
        created_at=clock.utcnow(),
    )
    db.add(client)
    db.flush()
    _audit("client.create", actor, Outcome.ALLOWED, client.id)
    owner = db.get(User, actor.user_id)
    assert owner is not None
    return _view(db, keys, client, owner, actor, key=key)


def list_clients(db: Session, keys: Keys, actor: Actor) -> list[ClientView]:
    if actor.role not in (Role.CLINICIAN, Role.SUPERVISOR):
        raise _deny(actor, "client.list")
    owners = _visible_owners(db, actor)
    rows = db.exec(
        select(Client, User)
        .join(User, col(User.id) == col(Client.owner_id))
        .where(col(Client.owner_id).in_(list(owners)), col(Client.deleted_at).is_(None))
    ).all()
    record_keys = open_record_keys(db, keys.keks, [client.data_key_id for client, _ in rows])
    views = [
        _view(
            db,
            keys,
            client,
            owner,
            actor,
            owners[client.owner_id],
            record_keys[client.data_key_id],
        )
        for client, owner in rows
    ]
    _audit("client.list", actor, Outcome.ALLOWED, None)
    for grant_id in sorted({v.emergency_grant_id for v in views if v.emergency_grant_id}):
        record_use(actor, grant_id, "client.list", None)
    # Sorted here, not in SQL: the database holds only ciphertext and cannot sort names.
    return sorted(views, key=lambda v: (v.read_only, v.owner_username, v.display_name.lower()))


def get_client(db: Session, keys: Keys, actor: Actor, client_id: str) -> ClientView:
    if actor.role not in (Role.CLINICIAN, Role.SUPERVISOR):
        raise _deny(actor, "client.view")
    row = db.exec(
        select(Client, User)
        .join(User, col(User.id) == col(Client.owner_id))
        # A deleted client (appliance.records.client_deletion) no longer exists for anyone.
        .where(Client.id == client_id, col(Client.deleted_at).is_(None))
    ).first()
    owners = _visible_owners(db, actor)
    if row is None or row[0].owner_id not in owners:
        _audit("client.view", actor, Outcome.DENIED, client_id if row else None)
        raise NotFound("client")
    grant_id = owners[row[0].owner_id]
    if grant_id is None:
        _audit("client.view", actor, Outcome.ALLOWED, client_id)
    else:
        record_use(actor, grant_id, "client.view", client_id)
    return _view(db, keys, row[0], row[1], actor, grant_id)

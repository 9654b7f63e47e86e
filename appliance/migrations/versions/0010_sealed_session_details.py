"""sealed session details and emergency reasons

Dates of service are PHI: a dictation's session date, start time, duration, service code and
modality were stored in the clear beside its client id. They move into `session_sealed`, sealed
under the client's data key (appliance.records.session_details). The emergency grant's reason,
free text typed by an admin, is sealed under a data key of the grant's own.

Existing rows are sealed here, so `appliance migrate` (which loads the keys) must run it. A
deleted client's sessions have no key left to seal under: their details are dropped, as the
rest of that client's record already was.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 17:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SESSION_COLUMNS = ("session_date", "start_time", "duration_minutes", "service_code", "modality")


def _keys(what: str) -> Any:
    keys = context.config.attributes.get("keys")
    if keys is None:
        raise RuntimeError(f"{what}: run `appliance migrate` (it loads the keys)")
    return keys


def _day(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _seal_sessions() -> None:
    from sqlmodel import Session

    from appliance.crypto.envelope import KeyShredded, open_record_key, seal

    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT d.id, c.data_key_id, d.session_date, d.start_time, d.duration_minutes, "
            "d.service_code, d.modality FROM dictations d JOIN clients c ON c.id = d.client_id"
        )
    ).all()
    if not rows:
        return
    keys = _keys("existing dictations' session details must be sealed")
    db = Session(bind=connection)
    for dictation_id, key_id, day, start, minutes, code, modality in rows:
        try:
            key = open_record_key(db, keys.keks, key_id)
        except KeyShredded:
            sealed = b""  # the client was deleted: nothing of theirs is readable, nor is this
        else:
            document = json.dumps(
                {
                    "date": _day(day),
                    "start_time": start,
                    "duration_minutes": int(minutes),
                    "service_code": code,
                    "modality": modality,
                },
                sort_keys=True,
            )
            sealed = seal(key, "dictations", dictation_id, "session", document)
        connection.execute(
            sa.text("UPDATE dictations SET session_sealed = :s WHERE id = :id"),
            {"s": sealed, "id": dictation_id},
        )


def _seal_reasons() -> None:
    from sqlmodel import Session

    from appliance.crypto.envelope import new_record_key, seal
    from appliance.crypto.kek_registry import register

    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, reason FROM emergency_access_grants")).all()
    if not rows:
        return
    keys = _keys("existing emergency grants' reasons must be sealed")
    db = Session(bind=connection)
    for kid in sorted(keys.keks.ids):
        register(db, kid)
    for grant_id, reason in rows:
        key = new_record_key(db, keys.keks, "emergency_grant")
        db.flush()
        connection.execute(
            sa.text(
                "UPDATE emergency_access_grants SET data_key_id = :k, reason_sealed = :r "
                "WHERE id = :id"
            ),
            {
                "k": key.id,
                "r": seal(key, "emergency_access_grants", str(grant_id), "reason", reason),
                "id": grant_id,
            },
        )


def upgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("emergency_access_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_key_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reason_sealed", sa.LargeBinary(), nullable=True))
    _seal_sessions()
    _seal_reasons()
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.alter_column("session_sealed", existing_type=sa.LargeBinary(), nullable=False)
        for name in SESSION_COLUMNS:
            batch_op.drop_column(name)
    with op.batch_alter_table("emergency_access_grants", schema=None) as batch_op:
        batch_op.alter_column("data_key_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("reason_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_emergency_access_grants_data_key_id_data_keys"),
            "data_keys",
            ["data_key_id"],
            ["id"],
        )
        batch_op.drop_column("reason")


def _unseal_sessions() -> None:
    from sqlmodel import Session

    from appliance.crypto.envelope import KeyShredded, open_record_key, unseal

    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT d.id, c.data_key_id, d.session_sealed FROM dictations d "
            "JOIN clients c ON c.id = d.client_id"
        )
    ).all()
    if not rows:
        return
    keys = _keys("sealed session details must be opened to go back")
    db = Session(bind=connection)
    for dictation_id, key_id, sealed in rows:
        try:
            key = open_record_key(db, keys.keks, key_id)
        except KeyShredded:
            values: dict[str, Any] = {"date": "1970-01-01", "duration_minutes": 0}
        else:
            values = json.loads(unseal(key, "dictations", dictation_id, "session", sealed))
        connection.execute(
            sa.text(
                "UPDATE dictations SET session_date = :d, start_time = :t, "
                "duration_minutes = :m, service_code = :c, modality = :o WHERE id = :id"
            ),
            {
                "d": date.fromisoformat(values["date"]),
                "t": values.get("start_time"),
                "m": values["duration_minutes"],
                "c": values.get("service_code", ""),
                "o": values.get("modality", ""),
                "id": dictation_id,
            },
        )


def _unseal_reasons() -> None:
    from sqlmodel import Session

    from appliance.crypto.envelope import open_record_key, unseal

    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, data_key_id, reason_sealed FROM emergency_access_grants")
    ).all()
    if not rows:
        return
    keys = _keys("sealed emergency reasons must be opened to go back")
    db = Session(bind=connection)
    for grant_id, key_id, sealed in rows:
        key = open_record_key(db, keys.keks, key_id)
        reason = unseal(key, "emergency_access_grants", str(grant_id), "reason", sealed)
        connection.execute(
            sa.text("UPDATE emergency_access_grants SET reason = :r WHERE id = :id"),
            {"r": reason, "id": grant_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("start_time", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("duration_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("service_code", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("modality", sa.String(length=24), nullable=True))
    with op.batch_alter_table("emergency_access_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))
    _unseal_sessions()
    _unseal_reasons()
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        for name, kind in (
            ("session_date", sa.Date()),
            ("duration_minutes", sa.Integer()),
            ("service_code", sa.String(length=8)),
            ("modality", sa.String(length=24)),
        ):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.drop_column("session_sealed")
    with op.batch_alter_table("emergency_access_grants", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=500), nullable=False)
        batch_op.drop_constraint(
            batch_op.f("fk_emergency_access_grants_data_key_id_data_keys"), type_="foreignkey"
        )
        batch_op.drop_column("reason_sealed")
        batch_op.drop_column("data_key_id")

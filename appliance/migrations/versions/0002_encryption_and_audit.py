"""Envelope encryption of client PHI, the HMAC-chained audit log, emergency access.

Existing client rows are encrypted in place: each gets its own data key, wrapped by the KEK
that `appliance migrate` / `serve` / `init` hand to this migration. The plaintext columns are
dropped only after every row has its ciphertext.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import context, op

import appliance.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_key_tables() -> None:
    op.create_table(
        "key_encryption_keys",
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("created_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_key_encryption_keys")),
    )
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("created_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shredded_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["kid"], ["key_encryption_keys.kid"], name=op.f("fk_data_keys_kid_key_encryption_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
    )
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_keys_kid"), ["kid"], unique=False)


def _create_audit_tables() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=48), nullable=True),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_outcome"), ["outcome"], unique=False)
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_mac": ""}])


def _create_emergency_access() -> None:
    op.create_table(
        "emergency_access_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grantee_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("starts_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_emergency_access_grants_granted_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["grantee_id"], ["users.id"], name=op.f("fk_emergency_access_grants_grantee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_emergency_access_grants_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_access_grants")),
    )
    with op.batch_alter_table("emergency_access_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_access_grants_grantee_id"), ["grantee_id"], unique=False
        )


def _encrypt_existing_clients() -> None:
    from sqlmodel import Session

    from appliance.crypto.blind_index import blind_index
    from appliance.crypto.envelope import new_record_key, seal
    from appliance.crypto.kek_registry import register

    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, owner_id, display_name, external_id, date_of_birth FROM clients")
    ).all()
    if not rows:
        return
    keys = context.config.attributes.get("keys")
    if keys is None:
        raise RuntimeError(
            "existing clients must be encrypted: run `appliance migrate` (it loads the keys)"
        )
    db = Session(bind=connection)
    for kid in sorted(keys.keks.ids):
        register(db, kid)
    for client_id, owner_id, name, external_id, birth in rows:
        key = new_record_key(db, keys.keks, "client")
        born = birth.isoformat() if isinstance(birth, date) else birth
        values = {
            "id": client_id,
            "dek": key.id,
            "name": seal(key, "clients", client_id, "display_name", name),
            "ext": seal(key, "clients", client_id, "external_id", external_id)
            if external_id
            else None,
            "idx": blind_index(keys.index, f"owner:{owner_id}", external_id)
            if external_id
            else None,
            "dob": seal(key, "clients", client_id, "date_of_birth", born) if born else None,
        }
        db.flush()
        connection.execute(
            sa.text(
                "UPDATE clients SET data_key_id = :dek, display_name_sealed = :name, "
                "external_id_sealed = :ext, external_id_index = :idx, "
                "date_of_birth_sealed = :dob WHERE id = :id"
            ),
            values,
        )
    db.flush()


def upgrade() -> None:
    _create_key_tables()
    _create_audit_tables()
    _create_emergency_access()
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_key_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("display_name_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("external_id_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("external_id_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("date_of_birth_sealed", sa.LargeBinary(), nullable=True))
    _encrypt_existing_clients()
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_constraint("uq_clients_owner_id_external_id", type_="unique")
        batch_op.drop_column("display_name")
        batch_op.drop_column("external_id")
        batch_op.drop_column("date_of_birth")
        batch_op.alter_column("data_key_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("display_name_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.create_unique_constraint(
            "uq_clients_owner_id_external_id_index", ["owner_id", "external_id_index"]
        )
        batch_op.create_foreign_key(
            "fk_clients_data_key_id_data_keys", "data_keys", ["data_key_id"], ["id"]
        )


def downgrade() -> None:
    raise NotImplementedError(
        "encryption cannot be undone by a migration: restore the pre-upgrade backup instead"
    )

"""dictations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:08:32.096524
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appliance.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dictations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=8), nullable=False),
        sa.Column("modality", sa.String(length=24), nullable=False),
        sa.Column("note_format", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("audio_key_id", sa.Integer(), nullable=True),
        sa.Column("audio_format", sa.String(length=16), nullable=True),
        sa.Column("audio_bytes", sa.Integer(), nullable=True),
        sa.Column("audio_deleted_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("transcript_key_id", sa.Integer(), nullable=True),
        sa.Column("transcript_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("transcribed_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("transcript_deleted_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("draft_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("drafted_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["audio_key_id"], ["data_keys.id"], name=op.f("fk_dictations_audio_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_dictations_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_dictations_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_dictations_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["transcript_key_id"],
            ["data_keys.id"],
            name=op.f("fk_dictations_transcript_key_id_data_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dictations")),
    )
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dictations_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dictations_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dictations_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dictations_state"))
        batch_op.drop_index(batch_op.f("ix_dictations_owner_id"))
        batch_op.drop_index(batch_op.f("ix_dictations_client_id"))

    op.drop_table("dictations")

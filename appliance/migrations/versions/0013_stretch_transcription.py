"""recordings transcribed in stretches

Each chunk of a streamed recording gets a data key of its own (recording_chunks), so the audio
of a stretch can be shredded once its text is stored while recording goes on; the dictation
keeps how far it has been transcribed and the text so far (sealed).

Chunks stored before this revision have no row here: they stay under their dictation's audio
key (appliance.records.recording_audio falls back to it), and are shredded with it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appliance.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recording_chunks",
        sa.Column("dictation_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("start_byte", sa.Integer(), nullable=False),
        sa.Column("byte_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dictation_id"],
            ["dictations.id"],
            name=op.f("fk_recording_chunks_dictation_id_dictations"),
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"],
            ["data_keys.id"],
            name=op.f("fk_recording_chunks_data_key_id_data_keys"),
        ),
        sa.PrimaryKeyConstraint("dictation_id", "sequence", name=op.f("pk_recording_chunks")),
    )
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "transcribed_bytes", sa.Integer(), nullable=False, server_default=sa.text("0")
            )
        )
        batch_op.add_column(sa.Column("partial_transcript_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "stretches_transcribed", sa.Integer(), nullable=False, server_default=sa.text("0")
            )
        )
        batch_op.add_column(
            sa.Column("stretch_shredded_at", appliance.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.drop_column("stretch_shredded_at")
        batch_op.drop_column("stretches_transcribed")
        batch_op.drop_column("partial_transcript_sealed")
        batch_op.drop_column("transcribed_bytes")
    op.drop_table("recording_chunks")

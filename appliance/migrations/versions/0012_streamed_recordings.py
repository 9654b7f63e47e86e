"""streamed recordings

A dictation can be recorded in chunks while the clinician speaks (state `recording`, source
`stream`): the number of chunks stored (the sequence number expected next) and when the last
arrived.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appliance.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("chunks_received", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("last_chunk_at", appliance.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.drop_column("last_chunk_at")
        batch_op.drop_column("chunks_received")

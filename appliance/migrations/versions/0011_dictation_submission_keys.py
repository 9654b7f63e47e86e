"""dictation submission keys and crash counts

A submission key: one form sent twice stores one dictation. A crash count: a stage that keeps
raising what none expects fails its dictation with a reason instead of being retried for ever.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 17:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("crashes", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_dictations_owner_id_submission_key"), ["owner_id", "submission_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_dictations_owner_id_submission_key"), type_="unique"
        )
        batch_op.drop_column("crashes")
        batch_op.drop_column("submission_key")

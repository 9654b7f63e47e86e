"""longer setting values: room for the practice's service codes list

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("system_settings", schema=None) as batch_op:
        # Up to 30 codes with 60-character labels, as JSON: far more than 255 characters.
        batch_op.alter_column(
            "value",
            existing_type=sa.String(length=255),
            type_=sa.Text(),
            existing_nullable=False,
        )


def downgrade() -> None:
    long_values = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM system_settings WHERE LENGTH(value) > 255")
    )
    if long_values.scalar():
        # Cutting the value would corrupt it (PostgreSQL refuses anyway; SQLite would keep it).
        raise RuntimeError(
            "a setting (the service codes list) is longer than the older schema holds: "
            "shorten the list at Admin -> Settings, or restore the pre-upgrade backup instead"
        )
    with op.batch_alter_table("system_settings", schema=None) as batch_op:
        batch_op.alter_column(
            "value",
            existing_type=sa.Text(),
            type_=sa.String(length=255),
            existing_nullable=False,
        )

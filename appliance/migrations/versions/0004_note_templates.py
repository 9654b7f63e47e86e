"""note templates: admin-defined note formats, and each dictation's copy of its template

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 05:30:04.024968
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appliance.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("retired_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "note_templates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("title_folded", sa.String(length=180), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_note_templates_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_templates")),
    )
    with op.batch_alter_table("note_templates", schema=None) as batch_op:
        # Partial: a retired template's title may be used again.
        batch_op.create_index(
            "ix_note_templates_title_folded",
            ["title_folded"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_snapshot", sa.JSON(), nullable=True))
        # Room for "custom:<32-character template id>".
        batch_op.alter_column(
            "note_format",
            existing_type=sa.String(length=8),
            type_=sa.String(length=40),
            existing_nullable=False,
        )


def downgrade() -> None:
    custom = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM dictations WHERE template_snapshot IS NOT NULL")
    )
    if custom.scalar():
        # The older code knows only the built-in formats and could not draft these.
        raise RuntimeError(
            "dictations use custom templates: restore the pre-upgrade backup instead"
        )
    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.alter_column(
            "note_format",
            existing_type=sa.String(length=40),
            type_=sa.String(length=8),
            existing_nullable=False,
        )
        batch_op.drop_column("template_snapshot")
    with op.batch_alter_table("note_templates", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_note_templates_title_folded", sqlite_where=ACTIVE, postgresql_where=ACTIVE
        )
    op.drop_table("note_templates")

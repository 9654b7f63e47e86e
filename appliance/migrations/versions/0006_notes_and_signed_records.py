"""notes, records, process notes, exports: the review and signing workflow

Signed records (`note_records`) are append-only: triggers refuse UPDATE and DELETE on both
SQLite and PostgreSQL, so not even a bug in the application (or a hand-typed SQL statement)
can alter or remove a signed note.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:45:00.939806
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import appliance.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("include_process_notes", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.String(length=200), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("file_bytes", sa.Integer(), nullable=True),
        sa.Column("created_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ready_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_exports_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_exports_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_exports_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exports_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exports_requested_by"), ["requested_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_exports_state"), ["state"], unique=False)

    op.create_table(
        "notes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dictation_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("late_entry", sa.Boolean(), nullable=False),
        sa.Column("returned_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("final_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("produced_by", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_notes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_notes_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["dictation_id"], ["dictations.id"], name=op.f("fk_notes_dictation_id_dictations")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_notes_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        sa.UniqueConstraint("dictation_id", name=op.f("uq_notes_dictation_id")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notes_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notes_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notes_state"), ["state"], unique=False)

    op.create_table(
        "note_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("note_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("document_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("signature_line", sa.String(length=120), nullable=False),
        sa.Column("signed_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_note_records_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["note_id"], ["notes.id"], name=op.f("fk_note_records_note_id_notes")
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["users.id"], name=op.f("fk_note_records_signer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_records")),
    )
    with op.batch_alter_table("note_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_note_records_note_id"), ["note_id"], unique=False)

    op.create_table(
        "process_notes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("note_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("data_key_id", sa.Integer(), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", appliance.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", appliance.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["data_key_id"], ["data_keys.id"], name=op.f("fk_process_notes_data_key_id_data_keys")
        ),
        sa.ForeignKeyConstraint(
            ["note_id"], ["notes.id"], name=op.f("fk_process_notes_note_id_notes")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_process_notes_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_notes")),
        sa.UniqueConstraint("note_id", name=op.f("uq_process_notes_note_id")),
    )
    with op.batch_alter_table("process_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_process_notes_owner_id"), ["owner_id"], unique=False)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deleted_at", appliance.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("produced_by", sa.JSON(), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requires_cosign", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("signature_line", sa.String(length=120), nullable=True))

    _refuse_changes_to_records()


APPEND_ONLY = "note_records is append-only: a signed record is corrected by an addendum"


def _refuse_changes_to_records() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION note_records_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER note_records_no_{event.lower()} BEFORE {event} ON note_records "
                "FOR EACH ROW EXECUTE FUNCTION note_records_append_only()"
            )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER note_records_no_{event.lower()} BEFORE {event} ON note_records "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    signed = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM note_records")).scalar()
    if signed:
        # Dropping the table would destroy signed clinical records.
        raise RuntimeError(
            "signed notes exist: the older schema cannot hold them; restore the pre-upgrade "
            "backup instead of downgrading"
        )
    for event in ("update", "delete"):
        op.execute(
            f"DROP TRIGGER IF EXISTS note_records_no_{event}"
            + (" ON note_records" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS note_records_append_only()")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("signature_line")
        batch_op.drop_column("requires_cosign")

    with op.batch_alter_table("dictations", schema=None) as batch_op:
        batch_op.drop_column("produced_by")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")

    with op.batch_alter_table("process_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_process_notes_owner_id"))

    op.drop_table("process_notes")
    with op.batch_alter_table("note_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_note_records_note_id"))

    op.drop_table("note_records")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notes_state"))
        batch_op.drop_index(batch_op.f("ix_notes_owner_id"))
        batch_op.drop_index(batch_op.f("ix_notes_client_id"))

    op.drop_table("notes")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exports_state"))
        batch_op.drop_index(batch_op.f("ix_exports_requested_by"))
        batch_op.drop_index(batch_op.f("ix_exports_client_id"))

    op.drop_table("exports")

"""sealed audit head: an HMAC over the head row's last seq and last MAC

Without it, deleting the newest audit events and pointing the head at the new last event
(whose MAC anyone with the database can read) verified as an intact chain. The existing head is
sealed here with the audit key, so an upgraded appliance verifies as before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seal_existing_head() -> None:
    from appliance.audit.chain import head_mac

    connection = op.get_bind()
    row = connection.execute(
        sa.text("SELECT last_seq, last_mac FROM audit_head WHERE id = 1")
    ).first()
    if row is None:
        return
    last_seq, last_mac = int(row[0]), str(row[1])
    keys = context.config.attributes.get("keys")
    if keys is None:
        if last_seq == 0 and last_mac == "":
            return  # an empty chain needs no seal (appliance.audit.chain.head_is_sealed)
        raise RuntimeError(
            "the audit head must be sealed with the audit key: run `appliance migrate` "
            "(it loads the keys)"
        )
    connection.execute(
        sa.text("UPDATE audit_head SET head_mac = :mac WHERE id = 1"),
        {"mac": head_mac(keys.audit, last_seq, last_mac)},
    )


def upgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("head_mac", sa.String(length=64), nullable=False, server_default="")
        )
    _seal_existing_head()


def downgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("head_mac")

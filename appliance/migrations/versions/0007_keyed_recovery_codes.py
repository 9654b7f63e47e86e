"""recovery codes: keyed digests instead of bare SHA-256

Codes handed out before this revision carry 40 bits and are stored as SHA-256: a database copy
alone gives every one of them to a brute force in minutes. The codes themselves are not known
here, so each stored SHA-256 is keyed in turn (HMAC-SHA256 under the credentials key, bound to
its owner; appliance.identity.mfa.wrap_legacy_digest). The printed codes keep working until used
or replaced, and nothing unkeyed is left behind. New codes (80 bits) are keyed from the start.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from appliance.identity.mfa import wrap_legacy_digest

    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, user_id, code_hash FROM recovery_codes")).all()
    if not rows:
        return
    keys = context.config.attributes.get("keys")
    if keys is None:
        raise RuntimeError(
            "existing recovery codes must be keyed: run `appliance migrate` (it loads the keys)"
        )
    # Used codes too: their digests would still give the code away, and it costs nothing.
    for code_id, user_id, digest in rows:
        connection.execute(
            sa.text("UPDATE recovery_codes SET code_hash = :digest WHERE id = :id"),
            {"digest": wrap_legacy_digest(keys.credentials, user_id, digest), "id": code_id},
        )


def downgrade() -> None:
    unused = op.get_bind().execute(
        sa.text("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL")
    )
    if unused.scalar():
        # The older code compares bare SHA-256 and would silently refuse every keyed code.
        raise RuntimeError(
            "recovery codes are stored keyed and the older code cannot check them: restore the "
            "pre-upgrade backup, or reset two-factor for the people who have codes, then downgrade"
        )

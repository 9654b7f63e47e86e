"""Alembic environment: runs on the connection `appliance.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import appliance.models  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables so migrations run on both.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from appliance.db import make_engine
from appliance.migrate import current_revision, head_revision, upgrade_to_head
from appliance.runtime import Appliance
from tests.conftest import POSTGRES_URL


def test_migrations_bring_an_empty_database_to_head(appliance: Appliance) -> None:
    assert current_revision(appliance.engine) == head_revision()
    tables = set(inspect(appliance.engine).get_table_names())
    assert {"users", "user_sessions", "setup_tokens", "clients"} <= tables


def test_migrated_schema_matches_the_models(appliance: Appliance) -> None:
    with appliance.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], "models changed without a migration"


def test_upgrade_is_idempotent(appliance: Appliance) -> None:
    upgrade_to_head(appliance.engine)
    assert current_revision(appliance.engine) == head_revision()


def test_migrations_run_from_scratch_on_a_new_sqlite_file(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/fresh.db")
    upgrade_to_head(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_the_configured_database_is_the_one_under_test(appliance: Appliance) -> None:
    expected = "postgresql" if POSTGRES_URL else "sqlite"
    assert appliance.engine.dialect.name == expected

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from appliance.db import make_engine
from appliance.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
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


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


OLD_ROWS = [
    "INSERT INTO users (id, username, role, is_active, failed_logins, mfa_enabled, created_at) "
    "VALUES (1, 'alice', 'clinician', 1, 0, 0, '2026-11-01 00:00:00')",
    "INSERT INTO key_encryption_keys (kid, created_at) VALUES ('k1', '2026-11-01 00:00:00')",
    "INSERT INTO data_keys (id, kid, wrapped, purpose, created_at) "
    "VALUES (1, 'k1', x'00', 'client', '2026-11-01 00:00:00')",
    "INSERT INTO clients (id, owner_id, data_key_id, display_name_sealed, created_at) "
    "VALUES ('c1', 1, 1, x'00', '2026-11-01 00:00:00')",
    "INSERT INTO dictations (id, client_id, owner_id, data_key_id, session_date, "
    "duration_minutes, service_code, modality, note_format, source, state, attempts, "
    "next_attempt_at, created_at) VALUES ('d1', 'c1', 1, 1, '2026-11-20', 50, '90834', 'cbt', "
    "'birp', 'typed', 'ready', 0, '2026-11-20 10:00:00', '2026-11-20 10:00:00')",
]


def test_0004_adds_templates_and_keeps_existing_dictations(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    _migrate(engine, "0003")
    with engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement))
    _migrate(engine, "0004")
    with engine.begin() as connection:
        row = connection.execute(
            text("SELECT note_format, template_snapshot, state FROM dictations WHERE id = 'd1'")
        ).one()
        assert tuple(row) == ("birp", None, "ready")
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    columns = {c["name"]: c for c in inspect(engine).get_columns("dictations")}
    assert columns["note_format"]["type"].length == 40  # "custom:" + a 32-character id
    assert {"id", "title", "sections", "retired_at"} <= {
        c["name"] for c in inspect(engine).get_columns("note_templates")
    }
    # Back to 0003 while no dictation uses a template; refused once one does.
    _migrate(engine, "0003", down=True)
    assert "note_templates" not in inspect(engine).get_table_names()
    _migrate(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE dictations SET note_format = :f, template_snapshot = :s"),
            {"f": "custom:" + "a" * 32, "s": '{"title": "T", "sections": []}'},
        )
    with pytest.raises(RuntimeError, match="custom templates"):
        _migrate(engine, "0003", down=True)
    engine.dispose()


def test_0005_widens_setting_values_and_keeps_them(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    _migrate(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO system_settings (key, value, updated_at) "
                "VALUES ('require_mfa', 'true', '2026-11-01 00:00:00')"
            )
        )
    _migrate(engine, "0005")
    columns = {c["name"]: c for c in inspect(engine).get_columns("system_settings")}
    assert columns["value"]["type"].length is None  # Text: room for the service codes list
    long_list = '[["90834", "' + "x" * 300 + '"]]'
    with engine.begin() as connection:
        assert connection.execute(text("SELECT value FROM system_settings")).scalar() == "true"
        connection.execute(
            text(
                "INSERT INTO system_settings (key, value, updated_at) "
                "VALUES ('service_codes', :v, '2026-11-01 00:00:00')"
            ),
            {"v": long_list},
        )
    # Back to 0004 would cut the list: refused until it is short enough.
    with pytest.raises(RuntimeError, match="service codes"):
        _migrate(engine, "0004", down=True)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM system_settings WHERE key = 'service_codes'"))
    _migrate(engine, "0004", down=True)
    columns = {c["name"]: c for c in inspect(engine).get_columns("system_settings")}
    assert columns["value"]["type"].length == 255
    engine.dispose()

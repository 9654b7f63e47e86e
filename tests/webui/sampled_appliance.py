"""The route tests' appliance: the personas and one of each thing a route can name, made once per
module and copied into each test's own fresh appliance.

Making the samples takes the pipeline through two drafts, a sound check of real audio, a
signature and two two-factor enrolments: seconds per test, for some 220 tests that each need
their own copy (a visit may sign, delete or revoke). So the first test of a module makes them
through the service layer as before, its rows and files are kept, and every test starts from a
copy: the rows inserted as they were (ids, ciphertexts and the audit chain unchanged) and the
data folder's files (the keys that sealed them, the sealed audio) copied beside them. It works
the same on SQLite and on PostgreSQL (make test-postgres).

A test module takes these fixtures by importing them (`appliance` and `people` override those
of tests/conftest.py there): a module that took `samples` alone would get the conftest's
people, which collide with the copied ones at once.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from appliance.models import User
from appliance.runtime import Appliance
from appliance.settings import Settings
from tests.conftest import POSTGRES_URL, People, add_people, settings_in, start_appliance
from tests.webui.route_samples import RouteSamples, make_route_samples

__all__ = ["appliance", "people", "sampled_state", "samples"]

DATABASE_FILE = "appliance.db"


@dataclass(frozen=True)
class SampledState:
    """What make_route_samples left: every table's rows and the data folder beside them."""

    rows: dict[str, list[dict[str, Any]]]
    data_dir: Path
    people: dict[str, int]  # persona -> user id
    samples: RouteSamples


def _read_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as connection:
        return {
            table.name: [dict(row) for row in connection.execute(table.select()).mappings()]
            for table in SQLModel.metadata.sorted_tables
        }


def _write_rows(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    """The fresh database's few rows (the audit head, the key registry) replaced by `rows`."""
    tables = SQLModel.metadata.sorted_tables
    with engine.begin() as connection:
        for table in reversed(tables):
            connection.execute(table.delete())
        for table in tables:
            if rows[table.name]:
                connection.execute(table.insert(), rows[table.name])
        if engine.dialect.name == "postgresql":
            _move_sequences_past(connection)


def _move_sequences_past(connection: Connection) -> None:
    # Rows inserted with their ids leave PostgreSQL's sequences at 1: the test's first new user
    # or grant would collide with a copied one.
    for table in SQLModel.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            highest = connection.execute(select(func.max(column))).scalar() or 0
            connection.execute(
                text(
                    "SELECT setval(seq, :next, false) "
                    "FROM pg_get_serial_sequence(:table, :column) AS seq WHERE seq IS NOT NULL"
                ),
                {"next": highest + 1, "table": table.name, "column": column.name},
            )


@pytest.fixture(scope="module")
def sampled_state(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    password_hash: str,
) -> Iterator[SampledState]:
    """The samples made once, through the service layer, on an appliance of their own."""
    settings = settings_in(tmp_path_factory.mktemp("sampled") / "data")
    made = start_appliance(request, settings, sqlite_template)
    try:
        people = add_people(made, password_hash)
        samples = make_route_samples(made, people)
        rows = _read_rows(made.engine)
    finally:
        if not POSTGRES_URL:
            made.engine.dispose()
    ids: dict[str, int] = {}
    for name, user in vars(people).items():
        assert user.id is not None
        ids[name] = user.id
    yield SampledState(rows, settings.data_dir, ids, samples)


def _copy_files(source: Path, target: Path) -> None:
    """The data folder's files but the SQLite database (its rows are copied as rows)."""
    shutil.copytree(
        source,
        target,
        dirs_exist_ok=True,
        ignore=lambda folder, names: [n for n in names if n.startswith(DATABASE_FILE)],
    )


@pytest.fixture
def appliance(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    sqlite_template: Path,
    sampled_state: SampledState,
) -> Iterator[Appliance]:
    """A fresh appliance holding a copy of the samples: the same keys, rows and sealed files."""
    settings = make_settings()
    # The keys first: start_appliance creates only missing ones and checks them against the
    # (then empty) database; the copied rows name these.
    _copy_files(sampled_state.data_dir, settings.data_dir)
    running = start_appliance(request, settings, sqlite_template)
    _write_rows(running.engine, sampled_state.rows)
    yield running
    if not POSTGRES_URL:
        running.engine.dispose()


@pytest.fixture
def people(appliance: Appliance, sampled_state: SampledState) -> People:
    """The personas as the copy holds them, read afresh for each test."""
    found: dict[str, User] = {}
    with appliance.unit_of_work() as db:
        for name, user_id in sampled_state.people.items():
            user = db.get(User, user_id)
            assert user is not None
            found[name] = user
    return People(**found)


@pytest.fixture
def samples(people: People, sampled_state: SampledState) -> RouteSamples:
    return sampled_state.samples

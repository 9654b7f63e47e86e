"""Shared fixtures: a fresh appliance per test, the personas, and signed-in browsers.

The database is SQLite by default; with APPLIANCE_TEST_DATABASE_URL set (as .ci/run does) the
same tests run against PostgreSQL. Either way every test starts from an empty, migrated schema.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from appliance import clock
from appliance.audit.chain import EventData
from appliance.audit.record import receivers
from appliance.crypto.kek_registry import check_key_files_match
from appliance.crypto.keyfiles import KeyPaths, create_missing_keys, load_keys
from appliance.db import make_engine
from appliance.identity import accounts
from appliance.identity.passwords import hash_password
from appliance.migrate import upgrade_to_head
from appliance.models import AuditHead, User
from appliance.practice.service_codes import DEFAULT_SERVICE_CODES
from appliance.records.dictations import parse_details
from appliance.records.session_details import SessionDetails
from appliance.roles import Role
from appliance.runtime import Appliance
from appliance.settings import Settings
from tests.served_app import DICTATION_FORM
from webui.app import create_app

# The converge tests install real packages into a Debian tree for minutes: `make test-converge`
# runs them (APPLIANCE_CONVERGE=1), a plain `pytest` or `make test` never collects them.
collect_ignore = [] if os.environ.get("APPLIANCE_CONVERGE") == "1" else ["converge"]

SHARED_POSTGRES_URL = os.environ.get("APPLIANCE_TEST_DATABASE_URL", "")


def _worker_database_url(url: str) -> str:
    """The database this process tests on. Under pytest-xdist (make test-postgres runs two
    workers) each worker has its own, named after it (appliance_test_gw0, ...): every test
    empties its database first, so two workers sharing one would wipe each other's rows."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    shared = make_url(url)
    return shared.set(database=f"{shared.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_database_url(SHARED_POSTGRES_URL)
PASSWORD = "quiet-harbour-lantern-47"


def pytest_configure(config: pytest.Config) -> None:
    if POSTGRES_URL != SHARED_POSTGRES_URL:
        _create_worker_database()


def _create_worker_database() -> None:
    """A fresh, empty database for this worker, made from the shared test database's connection
    (scripts/start-test-postgres.sh lets its role create databases)."""
    name = make_url(POSTGRES_URL).database
    engine = make_engine(SHARED_POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            # WITH (FORCE): a worker killed mid-run may have left connections open.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no APPLIANCE_* settings of the developer's shell (or of the Makefile)."""
    for name in list(os.environ):
        if name.startswith("APPLIANCE_") and name != "APPLIANCE_TEST_DATABASE_URL":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def password_hash() -> str:
    # One argon2 hash for every persona: hashing is deliberately slow, and the tests that
    # prove hashing does the right thing call it themselves.
    return hash_password(PASSWORD)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "appliance.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


# How long emptying the tables may wait for a lock. A connection an earlier test left open in a
# transaction would otherwise make TRUNCATE wait for ever, silently, and the whole run with it
# (a CI run once spent its last 40 minutes there); this way that test's leak fails loudly.
EMPTYING_LOCK_TIMEOUT = "60s"


def empty_postgres(engine: Engine) -> None:
    tables = ", ".join(
        t.name for t in SQLModel.metadata.sorted_tables if t.name != AuditHead.__tablename__
    )
    with engine.begin() as connection:
        connection.execute(text(f"SET LOCAL lock_timeout = '{EMPTYING_LOCK_TIMEOUT}'"))
        try:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        except OperationalError as error:
            raise RuntimeError(
                "could not empty the test database: a connection still holds its tables "
                f"({_open_transactions(engine)})"
            ) from error
        connection.execute(text("UPDATE audit_head SET last_seq = 0, last_mac = ''"))


def _open_transactions(engine: Engine) -> str:
    """The other connections to the test database that are inside a transaction, and since when."""
    query = text(
        "SELECT pid, state, xact_start FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND xact_start IS NOT NULL"
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return "; ".join(f"pid {pid} {state} since {start:%H:%M:%S}" for pid, state, start in rows)


def settings_in(data_dir: Path, **overrides: object) -> Settings:
    """A test appliance's settings: data under `data_dir`, the test database when one is set."""
    values: dict[str, object] = {"data_dir": data_dir, "public_url": "https://testserver"}
    if POSTGRES_URL:
        values["database_url"] = POSTGRES_URL
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        return settings_in(tmp_path / "data", **overrides)

    return build


def start_appliance(
    request: pytest.FixtureRequest, settings: Settings, sqlite_template: Path
) -> Appliance:
    """An appliance on an empty, migrated database (dispose of its engine on SQLite); keys
    already in its data folder are kept."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    paths = KeyPaths.from_settings(settings)
    create_missing_keys(paths)
    if POSTGRES_URL:
        engine = request.getfixturevalue("postgres_engine")
        empty_postgres(engine)
    else:
        shutil.copy(sqlite_template, settings.data_dir / "appliance.db")
        engine = make_engine(settings.resolved_database_url)
    running = Appliance(settings=settings, engine=engine, keys=load_keys(paths))
    with running.unit_of_work() as db:
        check_key_files_match(db, running.keys.keks)
    return running


@pytest.fixture
def appliance(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings], sqlite_template: Path
) -> Iterator[Appliance]:
    running = start_appliance(request, make_settings(), sqlite_template)
    yield running
    if not POSTGRES_URL:
        running.engine.dispose()


@dataclass
class People:
    alice: User
    bob: User
    carol: User
    dave: User
    erin: User

    def all(self) -> list[User]:
        return [self.alice, self.bob, self.carol, self.dave, self.erin]


@pytest.fixture
def people(appliance: Appliance, password_hash: str) -> People:
    return add_people(appliance, password_hash)


def add_people(appliance: Appliance, password_hash: str) -> People:
    """alice and bob: clinicians; carol: alice's supervisor; dave: admin; erin: auditor."""
    made = {}
    with appliance.unit_of_work() as db:
        for name, role in (
            ("alice", Role.CLINICIAN),
            ("bob", Role.CLINICIAN),
            ("carol", Role.SUPERVISOR),
            ("dave", Role.ADMIN),
            ("erin", Role.AUDITOR),
        ):
            user = accounts.create_user(db, name, role, by=None)
            user.password_hash = password_hash
            user.password_changed_at = clock.utcnow()
            db.add(user)
            made[name] = user
        accounts.assign_supervisor(db, made["alice"], made["carol"], by=None)
    return People(**made)


class Clock:
    """Moves `appliance.clock.utcnow` forward without sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(clock, "utcnow", fake)
    return fake


@pytest.fixture
def audit_events() -> Iterator[list[EventData]]:
    events: list[EventData] = []
    receivers.append(events.append)
    yield events
    receivers.remove(events.append)


CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser(TestClient):
    """A TestClient that reads the CSRF token from a page the way a real form would carry it."""

    def form_token(self, page: str = "/login") -> str:
        response = self.get(page)
        match = CSRF_PATTERN.search(response.text)
        assert match, f"no CSRF token on {page} ({response.status_code})"
        return match.group(1)

    def submit(self, path: str, data: dict[str, str] | None = None, page: str = "/login") -> Any:
        fields = {"csrf_token": self.form_token(page), **(data or {})}
        return self.post(path, data=fields, follow_redirects=False)

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        return self.submit("/login", {"username": username, "password": password})

    def add_client(self, name: str = "Ann A") -> str:
        """A new client through the form; its id."""
        created = self.submit(
            "/clients",
            {"display_name": name, "external_id": "", "date_of_birth": ""},
            "/clients/new",
        )
        return str(created.headers["location"]).split("/")[2].split("?")[0]

    def send_dictation(
        self, client_id: str, file: tuple[str, bytes, str] | None = None, **fields: str
    ) -> Any:
        """The new-dictation form as the browser posts it (multipart, the file part empty when
        nothing is uploaded); `fields` override DICTATION_FORM. Redirects are not followed."""
        token = self.form_token(f"/clients/{client_id}/dictations/new")
        return self.post(
            f"/clients/{client_id}/dictations",
            data={"csrf_token": token, **DICTATION_FORM, **fields},
            files={"file": file or ("", b"", "application/octet-stream")},
            follow_redirects=False,
        )


@pytest.fixture
def browser(appliance: Appliance) -> Callable[[], Browser]:
    app = create_app(appliance)

    def open_browser() -> Browser:
        return Browser(app, base_url="https://testserver")

    return open_browser


@pytest.fixture
def signed_in(browser: Callable[[], Browser], people: People) -> Callable[[str], Browser]:
    def as_person(username: str) -> Browser:
        b = browser()
        response = b.sign_in(username)
        assert response.status_code == 303, f"{username} could not sign in"
        return b

    return as_person


def form_details(**overrides: str) -> SessionDetails:
    """The details of DICTATION_FORM (with `overrides`), parsed as the web form's are."""
    fields = {**DICTATION_FORM, **overrides}
    return parse_details(**fields, service_codes=DEFAULT_SERVICE_CODES)


def submit_dictation(
    appliance: Appliance,
    people: People,
    *,
    audio: bytes | None = None,
    typed_text: str = "",
    note_format: str = "soap",
    **details: str,
) -> str:
    """A new client of alice's with one dictation (a recording or typed notes); its id.
    `details`: other fields of the form (session_date, ...)."""
    from appliance.records.clients import create_client
    from appliance.records.dictations import create_dictation

    alice = accounts.actor_for(people.alice)
    with appliance.unit_of_work() as db:
        client = create_client(db, appliance.keys, alice, display_name="Ann A")
        return create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            alice,
            client.id,
            form_details(note_format=note_format, **details),
            audio=audio,
            typed_text=typed_text,
        )

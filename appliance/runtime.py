"""The running appliance: settings, database engine and keys, opened once per process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from appliance.audit.record import attach as attach_audit
from appliance.crypto.kek_registry import check_key_files_match
from appliance.crypto.keyfiles import KeyPaths, Keys, create_missing_keys, load_keys
from appliance.db import make_engine, unit_of_work
from appliance.identity.setup_links import issue_first_admin_link, url_for_token
from appliance.migrate import upgrade_to_head
from appliance.settings import Settings


@dataclass
class Appliance:
    settings: Settings
    engine: Engine
    keys: Keys = field(repr=False)

    def __post_init__(self) -> None:
        # One appliance per process: its audit events go to its database under its key.
        attach_audit(self.engine, self.keys.audit)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with unit_of_work(self.engine) as db:
            yield db


def open_appliance(settings: Settings, *, migrate: bool = True) -> Appliance:
    """Refuses (KeyFileError, KeyMismatch) rather than run without its keys, or with another
    database's; migrates the schema on start."""
    keys = load_keys(KeyPaths.from_settings(settings))
    engine = make_engine(settings.resolved_database_url)
    try:
        if migrate:
            upgrade_to_head(engine, keys)
        appliance = Appliance(settings=settings, engine=engine, keys=keys)
        with appliance.unit_of_work() as db:
            check_key_files_match(db, keys.keks)
    except BaseException:
        engine.dispose()
        raise
    return appliance


@dataclass(frozen=True)
class InitReport:
    created_keys: list[str]
    first_admin_url: str | None


def initialise(settings: Settings) -> tuple[Appliance, InitReport]:
    """Idempotent: creates what is missing, never replaces keys or data that exist."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    created = create_missing_keys(KeyPaths.from_settings(settings))
    appliance = open_appliance(settings)
    for database_file in settings.data_dir.glob("appliance.db*"):
        os.chmod(database_file, 0o600)  # also tightens files made before the umask was set
    with appliance.unit_of_work() as db:
        token = issue_first_admin_link(db, settings)
    url = url_for_token(settings, token) if token else None
    return appliance, InitReport([p.name for p in created], url)

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from appliance.crypto.envelope import DecryptionError, crypto_shred
from appliance.crypto.kek_registry import KeyMismatch, check_key_files_match
from appliance.crypto.keyfiles import KeyFileError, KeyPaths, load_keys
from appliance.crypto.keyring import UnwrapError, next_kek_path
from appliance.crypto.rotation import rotate_kek
from appliance.db import make_engine
from appliance.identity.accounts import actor_for
from appliance.models import Client, DataKey
from appliance.records.clients import create_client, list_clients
from appliance.runtime import Appliance, open_appliance
from tests.conftest import POSTGRES_URL, People


class Interrupted(Exception):
    pass


def crash_after_first_batch(done: int) -> None:
    raise Interrupted(done)


def _add_clients(appliance: Appliance, people: People, count: int) -> None:
    with appliance.unit_of_work() as db:
        for n in range(count):
            create_client(db, appliance.keys, actor_for(people.alice), display_name=f"Client {n}")


def _names(appliance: Appliance, people: People) -> list[str]:
    keys = load_keys(KeyPaths.from_settings(appliance.settings))
    with appliance.unit_of_work() as db:
        return sorted(c.display_name for c in list_clients(db, keys, actor_for(people.alice)))


def test_rotation_rewraps_every_data_key_and_data_stays_readable(
    appliance: Appliance, people: People
) -> None:
    _add_clients(appliance, people, 5)
    before = _names(appliance, people)
    paths = KeyPaths.from_settings(appliance.settings)
    old_kek = paths.kek.read_bytes()
    with appliance.unit_of_work() as db:
        sealed_before = sorted(db.exec(select(Client.display_name_sealed)).all())
    report = rotate_kek(appliance.engine, paths, batch_size=2)
    assert report.rewrapped == 5 and not report.resumed
    assert paths.kek.read_bytes() != old_kek
    assert not next_kek_path(paths.kek).exists()
    assert _names(appliance, people) == before
    with appliance.unit_of_work() as db:
        assert set(db.exec(select(DataKey.kid)).all()) == {report.new_kid}
        # The data itself was not touched: only the wrapping of its keys changed.
        assert sorted(db.exec(select(Client.display_name_sealed)).all()) == sealed_before


def test_an_interrupted_rotation_resumes_and_finishes(appliance: Appliance, people: People) -> None:
    _add_clients(appliance, people, 5)
    before = _names(appliance, people)
    paths = KeyPaths.from_settings(appliance.settings)

    with pytest.raises(Interrupted):
        rotate_kek(appliance.engine, paths, batch_size=2, after_batch=crash_after_first_batch)
    assert next_kek_path(paths.kek).exists(), "the new KEK must be kept for the re-run"
    # Half-way, both KEKs are loaded and everything still reads.
    assert _names(appliance, people) == before
    with appliance.unit_of_work() as db:
        assert len(set(db.exec(select(DataKey.kid)).all())) == 2

    report = rotate_kek(appliance.engine, paths, batch_size=2)
    assert report.resumed and report.rewrapped == 3
    assert _names(appliance, people) == before
    assert not next_kek_path(paths.kek).exists()


def test_the_service_refuses_a_kek_that_is_not_this_databases(
    appliance: Appliance, people: People
) -> None:
    _add_clients(appliance, people, 1)
    paths = KeyPaths.from_settings(appliance.settings)
    paths.kek.unlink()
    paths.kek.write_bytes(b"\x01" * 32)
    paths.kek.chmod(0o600)
    with pytest.raises(KeyMismatch, match="does not belong to this database"):
        open_appliance(appliance.settings)


def test_the_service_refuses_to_start_without_its_kek(appliance: Appliance) -> None:
    KeyPaths.from_settings(appliance.settings).kek.unlink()
    with pytest.raises(KeyFileError, match=r"kek\.key is missing"):
        open_appliance(appliance.settings)


def test_a_lost_rotation_file_is_named_at_start(appliance: Appliance, people: People) -> None:
    _add_clients(appliance, people, 3)
    paths = KeyPaths.from_settings(appliance.settings)
    with pytest.raises(Interrupted):
        rotate_kek(
            appliance.engine,
            paths,
            batch_size=1,
            after_batch=lambda _: (_ for _ in ()).throw(Interrupted()),
        )
    next_kek_path(paths.kek).unlink()
    keys = load_keys(paths)
    with appliance.unit_of_work() as db, pytest.raises(KeyMismatch, match="not loaded"):
        check_key_files_match(db, keys.keks)


@pytest.mark.sqlite_only
@pytest.mark.skipif(bool(POSTGRES_URL), reason="copies the SQLite file as the backup")
def test_shredding_then_rotating_leaves_old_backups_unreadable(
    appliance: Appliance, people: People, tmp_path: Path
) -> None:
    _add_clients(appliance, people, 2)
    appliance.engine.dispose()
    backup = tmp_path / "backup.db"
    shutil.copy(appliance.settings.data_dir / "appliance.db", backup)
    with appliance.unit_of_work() as db:
        shredded = db.exec(select(Client)).first()
        assert shredded is not None
        crypto_shred(db, shredded.data_key_id)
    rotate_kek(appliance.engine, KeyPaths.from_settings(appliance.settings))

    keys_now = load_keys(KeyPaths.from_settings(appliance.settings))
    old = make_engine(f"sqlite:///{backup}")
    with old.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT d.id, d.kid, d.wrapped FROM data_keys d JOIN clients c "
            "ON c.data_key_id = d.id WHERE c.id = ?",
            (shredded.id,),
        ).one()
    old.dispose()
    with pytest.raises((UnwrapError, DecryptionError)):
        keys_now.keks.unwrap(row[1], row[2], row[0])

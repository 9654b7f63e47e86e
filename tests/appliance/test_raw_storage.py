"""The database alone reveals no PHI: search its raw contents for known plaintext."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import inspect, text

from appliance.identity import accounts
from appliance.identity.accounts import actor_for
from appliance.identity.emergency_access import grant_access
from appliance.identity.mfa import begin_enrolment, confirm_enrolment
from appliance.records.clients import create_client, get_client, list_clients
from appliance.records.dictations import create_dictation
from appliance.runtime import Appliance
from tests.conftest import POSTGRES_URL, People, form_details

NAME = "Ophelia Marchbanks"
RECORD = "MRN-558812"
BIRTH = "1961-07-23"
SESSION_DATE = "2019-03-17"
REASON = "covering Dr Quillfeather's caseload during her leave"


def _store_phi(appliance: Appliance, people: People) -> str:
    with appliance.unit_of_work() as db:
        client = create_client(
            db,
            appliance.keys,
            actor_for(people.alice),
            display_name=NAME,
            external_id=RECORD,
            date_of_birth=BIRTH,
        )
        list_clients(db, appliance.keys, actor_for(people.carol))
        get_client(db, appliance.keys, actor_for(people.alice), client.id)
        # Dates of service are PHI too, and so is what the session was: sealed beside the
        # client id, as is the emergency grant's free-text reason.
        create_dictation(
            db,
            appliance.keys,
            appliance.settings,
            actor_for(people.alice),
            client.id,
            form_details(session_date=SESSION_DATE, modality="psychodynamic"),
            typed_text="Typed session notes.",
        )
        grant_access(
            db,
            appliance.keys,
            actor_for(people.dave),
            grantee=people.bob,
            owner=people.alice,
            reason=REASON,
            hours=1,
        )
    with appliance.unit_of_work() as db:
        enrolment = begin_enrolment(db, appliance.keys, accounts.get_user(db, people.bob.id or 0))
    with appliance.unit_of_work() as db:
        code = pyotp.TOTP(enrolment.secret).at(time.time())
        confirm_enrolment(db, appliance.keys, accounts.get_user(db, people.bob.id or 0), code)
    return enrolment.secret


def _needles(secret: str) -> list[bytes]:
    words = [NAME, "Ophelia", "Marchbanks", RECORD, "558812", BIRTH, "19610723", secret]
    words += [SESSION_DATE, SESSION_DATE.replace("-", ""), "psychodynamic", "Quillfeather"]
    return [w.encode() for w in words] + [w.encode("utf-16-le") for w in words[:2]]


def _every_stored_value(appliance: Appliance) -> list[bytes]:
    values: list[bytes] = []
    with appliance.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode())
    return values


def test_no_table_holds_phi_or_secrets_in_clear(appliance: Appliance, people: People) -> None:
    secret = _store_phi(appliance, people)
    values = _every_stored_value(appliance)
    assert len(values) > 50
    for needle in _needles(secret):
        assert not any(needle in value for value in values), f"{needle!r} stored in clear"


@pytest.mark.sqlite_only
@pytest.mark.skipif(bool(POSTGRES_URL), reason="reads SQLite's files; tables are searched above")
def test_the_sqlite_files_on_disk_hold_no_phi(appliance: Appliance, people: People) -> None:
    secret = _store_phi(appliance, people)
    files = list(appliance.settings.data_dir.glob("appliance.db*"))
    assert any(f.name.endswith("-wal") for f in files) or len(files) == 1
    raw = b"".join(f.read_bytes() for f in files)
    assert len(raw) > 10_000
    for needle in _needles(secret):
        assert needle not in raw, f"{needle!r} found in {[f.name for f in files]}"


def test_the_search_would_find_plaintext_if_it_were_there(appliance: Appliance) -> None:
    # Proves the search above can fail: plaintext written on purpose is found.
    with appliance.unit_of_work() as db:
        db.connection().execute(text("UPDATE audit_head SET last_mac = :v"), {"v": NAME})
    assert any(NAME.encode() in value for value in _every_stored_value(appliance))

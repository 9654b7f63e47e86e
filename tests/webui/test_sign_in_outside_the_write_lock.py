"""argon2 runs before the unit of work, at sign-in and when a signature re-checks the password:
on SQLite, where one transaction at a time may write, ten sign-ins a second (no account needed to
send them) must not keep every other writer waiting for their hashes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from appliance.db import current_unit
from appliance.identity import authentication, reauthentication
from appliance.identity.passwords import verify_password
from appliance.runtime import Appliance
from tests.appliance.notes.conftest import blocking_flag, draft_note, set_signature_line
from tests.conftest import PASSWORD, Browser, People
from tests.webui.write_lock import SlowStep, assert_writers_carry_on


def _other_writers_carry_on_while_hashing(
    appliance: Appliance,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
    action: Callable[[], object],
) -> None:
    inside_a_unit: list[bool] = []

    def verify_noting_where(password: str, encoded: str) -> bool:
        inside_a_unit.append(current_unit.get() is not None)
        return verify_password(password, encoded)

    slow = SlowStep(verify_noting_where)
    # Every module that hashes: a check made twice, once inside the unit, must fail too.
    monkeypatch.setattr(authentication, "verify_password", slow)
    monkeypatch.setattr(reauthentication, "verify_password", slow)
    assert_writers_carry_on(appliance, people, slow, action, "a password hash")
    assert inside_a_unit and not any(inside_a_unit), "a password was hashed inside a unit of work"


@pytest.mark.sqlite_only
def test_other_writers_carry_on_while_a_sign_in_password_is_hashed(
    appliance: Appliance,
    people: People,
    browser: Callable[[], Browser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visitor = browser()
    _other_writers_carry_on_while_hashing(
        appliance, people, monkeypatch, lambda: visitor.sign_in("alice", PASSWORD)
    )


@pytest.mark.sqlite_only
def test_other_writers_carry_on_while_a_signature_password_is_hashed(
    appliance: Appliance,
    people: People,
    signed_in: Callable[[str], Browser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_signature_line(appliance, people.alice.id or 0, "Alice Smith, LMFT")
    note_id = draft_note(appliance, people)
    alice = signed_in("alice")
    token = alice.form_token(f"/notes/{note_id}")
    # The flag that blocks signing is acknowledged first, so the signature reaches the
    # password check (and goes through).
    alice.post(
        f"/notes/{note_id}/flags/{blocking_flag(appliance, note_id)}/ack",
        data={"csrf_token": token},
    )
    version = re.search(r'name="version" value="(\d+)"', alice.get(f"/notes/{note_id}").text)
    assert version is not None
    signed: list[int] = []

    def sign() -> None:
        response = alice.post(
            f"/notes/{note_id}/sign",
            data={"csrf_token": token, "version": version[1], "password": PASSWORD},
            follow_redirects=False,
        )
        signed.append(response.status_code)

    _other_writers_carry_on_while_hashing(appliance, people, monkeypatch, sign)
    assert signed == [303]


def test_a_password_changed_while_hashing_decides_nothing(
    appliance: Appliance, people: People
) -> None:
    check = authentication.check_password(appliance.engine, "alice", PASSWORD)
    with appliance.unit_of_work() as db:
        user = db.get(type(people.alice), people.alice.id)
        assert user is not None
        user.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$changedchanged"
        db.add(user)
    with appliance.unit_of_work() as db:
        assert not authentication.sign_in(db, appliance.settings, check).ok

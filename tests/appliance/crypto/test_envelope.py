from __future__ import annotations

import pytest
from sqlmodel import select

from appliance.crypto.envelope import (
    DecryptionError,
    KeyShredded,
    crypto_shred,
    new_record_key,
    open_record_key,
    seal,
    unseal,
)
from appliance.identity.accounts import actor_for
from appliance.models import Client, DataKey
from appliance.records.clients import create_client, get_client
from appliance.runtime import Appliance
from tests.conftest import People


def _two_clients(appliance: Appliance, people: People) -> tuple[str, str]:
    with appliance.unit_of_work() as db:
        first = create_client(db, appliance.keys, actor_for(people.alice), display_name="Ann A")
        second = create_client(db, appliance.keys, actor_for(people.alice), display_name="Ben B")
    return first.id, second.id


def test_a_sealed_field_opens_only_where_it_was_sealed(appliance: Appliance) -> None:
    with appliance.unit_of_work() as db:
        key = new_record_key(db, appliance.keys.keks, "test")
    sealed = seal(key, "clients", "row-1", "display_name", "Ann A")
    assert unseal(key, "clients", "row-1", "display_name", sealed) == "Ann A"
    for where in (("clients", "row-2", "display_name"), ("clients", "row-1", "external_id")):
        with pytest.raises(DecryptionError):
            unseal(key, *where, sealed)


def test_each_record_has_its_own_data_key(appliance: Appliance, people: People) -> None:
    _two_clients(appliance, people)
    with appliance.unit_of_work() as db:
        key_ids = db.exec(select(Client.data_key_id)).all()
        wrapped = db.exec(select(DataKey.wrapped)).all()
    assert len(set(key_ids)) == 2 and len(set(wrapped)) == 2


def test_a_ciphertext_copied_to_another_row_does_not_decrypt(
    appliance: Appliance, people: People
) -> None:
    first, second = _two_clients(appliance, people)
    with appliance.unit_of_work() as db:
        a, b = db.get(Client, first), db.get(Client, second)
        assert a is not None and b is not None
        b.display_name_sealed = a.display_name_sealed
        db.add(b)
    with appliance.unit_of_work() as db, pytest.raises(DecryptionError):
        get_client(db, appliance.keys, actor_for(people.alice), second)


def test_a_data_key_copied_to_another_row_does_not_decrypt(
    appliance: Appliance, people: People
) -> None:
    first, second = _two_clients(appliance, people)
    with appliance.unit_of_work() as db:
        a, b = db.get(Client, first), db.get(Client, second)
        assert a is not None and b is not None
        b.data_key_id = a.data_key_id
        db.add(b)
    with appliance.unit_of_work() as db, pytest.raises(DecryptionError):
        get_client(db, appliance.keys, actor_for(people.alice), second)


def test_a_tampered_ciphertext_is_refused(appliance: Appliance, people: People) -> None:
    first, _ = _two_clients(appliance, people)
    with appliance.unit_of_work() as db:
        row = db.get(Client, first)
        assert row is not None
        flipped = bytearray(row.display_name_sealed)
        flipped[-1] ^= 1
        row.display_name_sealed = bytes(flipped)
        db.add(row)
    with appliance.unit_of_work() as db, pytest.raises(DecryptionError):
        get_client(db, appliance.keys, actor_for(people.alice), first)


def test_crypto_shredding_makes_the_record_unreadable(appliance: Appliance, people: People) -> None:
    first, second = _two_clients(appliance, people)
    with appliance.unit_of_work() as db:
        row = db.get(Client, first)
        assert row is not None
        crypto_shred(db, row.data_key_id)
    with appliance.unit_of_work() as db:
        with pytest.raises(KeyShredded):
            get_client(db, appliance.keys, actor_for(people.alice), first)
        assert get_client(db, appliance.keys, actor_for(people.alice), second).display_name == (
            "Ben B"
        )


def test_a_data_key_never_prints(appliance: Appliance) -> None:
    with appliance.unit_of_work() as db:
        key = new_record_key(db, appliance.keys.keks, "test")
        reopened = open_record_key(db, appliance.keys.keks, key.id)
    assert reopened.key == key.key
    assert key.key.hex() not in repr(key) and str(key.key) not in repr(key)

from __future__ import annotations

import pytest

from appliance.access import AccessDenied, NotFound
from appliance.audit.chain import EventData
from appliance.audit.record import Outcome
from appliance.identity.accounts import actor_for
from appliance.records.clients import ClientInputError, create_client, get_client, list_clients
from appliance.runtime import Appliance
from tests.conftest import People


def _client_of(
    appliance: Appliance, people: People, name: str = "J. D.", record: str = "MRN-7"
) -> str:
    with appliance.unit_of_work() as db:
        return create_client(
            db,
            appliance.keys,
            actor_for(people.alice),
            display_name=name,
            external_id=record,
            date_of_birth="1984-05-06",
        ).id


def test_a_clinician_sees_only_their_own_clients(appliance: Appliance, people: People) -> None:
    _client_of(appliance, people)
    with appliance.unit_of_work() as db:
        create_client(db, appliance.keys, actor_for(people.bob), display_name="Bob's client")
        names = [c.display_name for c in list_clients(db, appliance.keys, actor_for(people.alice))]
    assert names == ["J. D."]


def test_another_clinician_gets_not_found(appliance: Appliance, people: People) -> None:
    client_id = _client_of(appliance, people)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        get_client(db, appliance.keys, actor_for(people.bob), client_id)


def test_a_supervisor_reads_a_supervisees_client_read_only(
    appliance: Appliance, people: People
) -> None:
    client_id = _client_of(appliance, people)
    with appliance.unit_of_work() as db:
        view = get_client(db, appliance.keys, actor_for(people.carol), client_id)
        listed = list_clients(db, appliance.keys, actor_for(people.carol))
    assert view.read_only and view.owner_username == "alice"
    assert [c.id for c in listed] == [client_id]


def test_a_supervisor_cannot_create_clients(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        create_client(db, appliance.keys, actor_for(people.carol), display_name="X")


@pytest.mark.parametrize("persona", ["dave", "erin"])
def test_admins_and_auditors_see_no_clients(
    appliance: Appliance, people: People, persona: str
) -> None:
    client_id = _client_of(appliance, people)
    actor = actor_for(getattr(people, persona))
    with appliance.unit_of_work() as db:
        with pytest.raises(AccessDenied):
            list_clients(db, appliance.keys, actor)
        with pytest.raises(AccessDenied):
            get_client(db, appliance.keys, actor, client_id)


def test_client_ids_are_random_not_sequential(appliance: Appliance, people: People) -> None:
    first = _client_of(appliance, people, "A", "R-1")
    second = _client_of(appliance, people, "B", "R-2")
    assert len(first) == 32 and not first.isdigit() and first != second


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"display_name": "   "}, "Display name"),
        ({"display_name": "x" * 121}, "Display name"),
        ({"display_name": "A", "date_of_birth": "06/05/1984"}, "YYYY-MM-DD"),
        ({"display_name": "A", "date_of_birth": "2999-01-01"}, "past date"),
        ({"display_name": "A", "external_id": "9" * 65}, "Record number"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_field(
    appliance: Appliance, people: People, fields: dict[str, str], message: str
) -> None:
    with appliance.unit_of_work() as db, pytest.raises(ClientInputError, match=message):
        create_client(db, appliance.keys, actor_for(people.alice), **fields)


def test_a_record_number_is_unique_per_clinician(appliance: Appliance, people: People) -> None:
    _client_of(appliance, people)
    with appliance.unit_of_work() as db, pytest.raises(ClientInputError, match="already"):
        create_client(
            db, appliance.keys, actor_for(people.alice), display_name="Other", external_id="MRN-7"
        )


def test_views_and_denials_are_audited_by_id_without_phi(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    client_id = _client_of(appliance, people, "Zebediah Q")
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        get_client(db, appliance.keys, actor_for(people.bob), client_id)
    denied = [e for e in audit_events if e.outcome == Outcome.DENIED]
    assert [(e.action, e.object_id, e.actor_id) for e in denied] == [
        ("client.view", client_id, people.bob.id)
    ]
    assert "Zebediah" not in repr(audit_events) and "MRN-7" not in repr(audit_events)

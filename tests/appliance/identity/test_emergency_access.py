from __future__ import annotations

import pytest
from sqlmodel import select

from appliance import metrics
from appliance.access import AccessDenied, NotFound
from appliance.audit.record import allowed_reads_unrecorded
from appliance.identity.accounts import AccountError, actor_for
from appliance.identity.emergency_access import grant_access, list_grants, revoke_access
from appliance.models import AuditEvent
from appliance.records.clients import create_client, get_client, list_clients
from appliance.runtime import Appliance
from tests.conftest import Clock, People


def _alices_client(appliance: Appliance, people: People) -> str:
    with appliance.unit_of_work() as db:
        return create_client(db, appliance.keys, actor_for(people.alice), display_name="Ann A").id


def _grant_bob(appliance: Appliance, people: People, hours: int = 4) -> int:
    with appliance.unit_of_work() as db:
        grant = grant_access(
            db,
            appliance.keys,
            actor_for(people.dave),
            grantee=people.bob,
            owner=people.alice,
            reason="alice on unplanned leave; ticket 4411",
            hours=hours,
        )
    assert grant.id is not None
    return grant.id


def test_a_granted_clinician_reads_the_other_clinicians_clients(
    appliance: Appliance, people: People
) -> None:
    client_id = _alices_client(appliance, people)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        get_client(db, appliance.keys, actor_for(people.bob), client_id)
    grant_id = _grant_bob(appliance, people)
    with appliance.unit_of_work() as db:
        view = get_client(db, appliance.keys, actor_for(people.bob), client_id)
        listed = list_clients(db, appliance.keys, actor_for(people.bob))
    assert view.display_name == "Ann A" and view.read_only
    assert view.emergency_grant_id == grant_id
    assert [c.id for c in listed] == [client_id]


def test_access_ends_by_itself_after_four_hours(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    client_id = _alices_client(appliance, people)
    _grant_bob(appliance, people)
    frozen_clock.advance(hours=3, minutes=59)
    with appliance.unit_of_work() as db:
        get_client(db, appliance.keys, actor_for(people.bob), client_id)
    frozen_clock.advance(minutes=2)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        get_client(db, appliance.keys, actor_for(people.bob), client_id)


def test_a_revoked_grant_stops_working(appliance: Appliance, people: People) -> None:
    client_id = _alices_client(appliance, people)
    grant_id = _grant_bob(appliance, people)
    with appliance.unit_of_work() as db:
        revoke_access(db, actor_for(people.dave), grant_id)
    with appliance.unit_of_work() as db, pytest.raises(NotFound):
        get_client(db, appliance.keys, actor_for(people.bob), client_id)


def test_every_use_is_audited_and_counted(appliance: Appliance, people: People) -> None:
    client_id = _alices_client(appliance, people)
    grant_id = _grant_bob(appliance, people)
    before = metrics.EMERGENCY_ACCESS.labels("use")._value.get()
    with appliance.unit_of_work() as db:
        get_client(db, appliance.keys, actor_for(people.bob), client_id)
        get_client(db, appliance.keys, actor_for(people.bob), client_id)
    assert metrics.EMERGENCY_ACCESS.labels("use")._value.get() == before + 2
    with appliance.unit_of_work() as db:
        uses = db.exec(
            select(AuditEvent).where(AuditEvent.reason == f"emergency_grant:{grant_id}")
        ).all()
    assert [(u.action, u.actor_id, u.object_id) for u in uses] == [
        ("client.view", people.bob.id, client_id)
    ] * 2


def test_a_pages_own_repeated_check_is_neither_recorded_nor_counted_as_a_use(
    appliance: Appliance, people: People
) -> None:
    client_id = _alices_client(appliance, people)
    grant_id = _grant_bob(appliance, people)
    before = metrics.EMERGENCY_ACCESS.labels("use")._value.get()
    with appliance.unit_of_work() as db, allowed_reads_unrecorded():
        get_client(db, appliance.keys, actor_for(people.bob), client_id)  # the progress poll
    assert metrics.EMERGENCY_ACCESS.labels("use")._value.get() == before
    with appliance.unit_of_work() as db:
        uses = db.exec(
            select(AuditEvent).where(AuditEvent.reason == f"emergency_grant:{grant_id}")
        ).all()
    assert uses == []


@pytest.mark.parametrize("persona", ["alice", "carol", "erin"])
def test_only_admins_grant(appliance: Appliance, people: People, persona: str) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        grant_access(
            db,
            appliance.keys,
            actor_for(getattr(people, persona)),
            grantee=people.bob,
            owner=people.alice,
            reason="a reason long enough",
            hours=1,
        )


@pytest.mark.parametrize(
    ("reason", "hours", "message"),
    [("short", 4, "reason"), ("a long enough reason", 0, "1 to 72"), ("a long enough", 73, "72")],
)
def test_a_grant_needs_a_reason_and_a_bounded_time(
    appliance: Appliance, people: People, reason: str, hours: int, message: str
) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match=message):
        grant_access(
            db,
            appliance.keys,
            actor_for(people.dave),
            grantee=people.bob,
            owner=people.alice,
            reason=reason,
            hours=hours,
        )


def test_grants_go_from_clinician_to_clinician(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="clinician"):
        grant_access(
            db,
            appliance.keys,
            actor_for(people.dave),
            grantee=people.carol,
            owner=people.alice,
            reason="a long enough reason",
            hours=1,
        )


def test_auditors_see_every_grant(appliance: Appliance, people: People) -> None:
    _grant_bob(appliance, people)
    with appliance.unit_of_work() as db:
        grants = list_grants(db, appliance.keys, actor_for(people.erin))
    assert [(g.grantee, g.owner, g.granted_by, g.active) for g in grants] == [
        ("bob", "alice", "dave", True)
    ]

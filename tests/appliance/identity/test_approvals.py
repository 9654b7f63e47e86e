"""The two-person rule: supervisor assignments and re-issued setup links wait for a second admin."""

from __future__ import annotations

import pytest
from sqlmodel import select

from appliance.identity.accounts import AccountError, actor_for, create_user, supervisor_of
from appliance.identity.approvals import (
    Done,
    Requested,
    approve,
    change_supervisor,
    new_setup_link,
    pending_requests,
    reject,
    withdraw,
)
from appliance.identity.setup_links import open_link
from appliance.models import AuditEvent, SetupToken, User
from appliance.roles import Role
from appliance.runtime import Appliance
from appliance.settings import Settings
from tests.conftest import Clock, People


@pytest.fixture
def two_person(appliance: Appliance) -> Settings:
    return appliance.settings.model_copy(update={"two_person_access_changes": True})


@pytest.fixture
def second_admin(appliance: Appliance, people: People) -> User:
    with appliance.unit_of_work() as db:
        return create_user(db, "dana", Role.ADMIN, by=None)


def _new_supervisor(appliance: Appliance) -> User:
    with appliance.unit_of_work() as db:
        return create_user(db, "sam", Role.SUPERVISOR, by=None)


def _request_sam_for_bob(appliance: Appliance, people: People, settings: Settings) -> int:
    sam = _new_supervisor(appliance)
    with appliance.unit_of_work() as db:
        bob = db.get(User, people.bob.id)
        assert bob is not None
        outcome = change_supervisor(db, settings, bob, sam, by=actor_for(people.dave))
    assert isinstance(outcome, Requested)
    return outcome.request_id


def _bobs_supervisor(appliance: Appliance, people: People) -> str | None:
    assert people.bob.id is not None
    with appliance.unit_of_work() as db:
        supervisor = supervisor_of(db, people.bob.id)
        return supervisor.username if supervisor else None


def _open_links(appliance: Appliance, user: User) -> int:
    with appliance.unit_of_work() as db:
        rows = db.exec(select(SetupToken).where(SetupToken.user_id == user.id)).all()
        return sum(1 for row in rows if row.used_at is None)


def test_without_the_rule_a_supervisor_assignment_takes_effect_at_once(
    appliance: Appliance, people: People
) -> None:
    sam = _new_supervisor(appliance)
    with appliance.unit_of_work() as db:
        bob = db.get(User, people.bob.id)
        assert bob is not None
        outcome = change_supervisor(db, appliance.settings, bob, sam, by=actor_for(people.dave))
    assert outcome == Done()
    assert _bobs_supervisor(appliance, people) == "sam"


def test_with_the_rule_an_assignment_is_only_a_request_until_a_second_admin_approves(
    appliance: Appliance, people: People, two_person: Settings, second_admin: User
) -> None:
    request_id = _request_sam_for_bob(appliance, people, two_person)
    assert _bobs_supervisor(appliance, people) is None
    with appliance.unit_of_work() as db:
        assert approve(db, two_person, request_id, by=actor_for(second_admin)) == Done()
    assert _bobs_supervisor(appliance, people) == "sam"
    with appliance.unit_of_work() as db:
        actors = db.exec(
            select(AuditEvent.actor_id).where(AuditEvent.action == "user.supervisor_assign")
        ).all()
    # The change is recorded as the approver's: they made it happen.
    assert actors[-1] == second_admin.id


def test_the_admin_who_asked_cannot_approve_their_own_request(
    appliance: Appliance, people: People, two_person: Settings
) -> None:
    request_id = _request_sam_for_bob(appliance, people, two_person)
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="second administrator"):
        approve(db, two_person, request_id, by=actor_for(people.dave))
    assert _bobs_supervisor(appliance, people) is None
    with appliance.unit_of_work() as db:
        denied = db.exec(
            select(AuditEvent).where(
                AuditEvent.action == "access.approve", AuditEvent.outcome == "denied"
            )
        ).one()
    assert denied.reason == "own_request"


def test_a_reissued_setup_link_goes_to_the_approver_and_never_to_the_admin_who_asked(
    appliance: Appliance, people: People, two_person: Settings, second_admin: User
) -> None:
    before = _open_links(appliance, people.alice)
    with appliance.unit_of_work() as db:
        alice = db.get(User, people.alice.id)
        assert alice is not None
        requested = new_setup_link(db, two_person, alice, by=actor_for(people.dave))
    assert isinstance(requested, Requested)
    assert _open_links(appliance, people.alice) == before
    with appliance.unit_of_work() as db:
        done = approve(db, two_person, requested.request_id, by=actor_for(second_admin))
    assert done.setup_token is not None
    with appliance.unit_of_work() as db:
        assert open_link(db, done.setup_token).user is not None


def test_a_decided_request_cannot_be_approved_again(
    appliance: Appliance, people: People, two_person: Settings, second_admin: User
) -> None:
    request_id = _request_sam_for_bob(appliance, people, two_person)
    with appliance.unit_of_work() as db:
        reject(db, request_id, by=actor_for(second_admin))
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="already decided"):
        approve(db, two_person, request_id, by=actor_for(second_admin))
    assert _bobs_supervisor(appliance, people) is None


def test_only_the_admin_who_asked_can_withdraw(
    appliance: Appliance, people: People, two_person: Settings, second_admin: User
) -> None:
    request_id = _request_sam_for_bob(appliance, people, two_person)
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="Only the admin"):
        withdraw(db, request_id, by=actor_for(second_admin))
    with appliance.unit_of_work() as db:
        withdraw(db, request_id, by=actor_for(people.dave))
        assert pending_requests(db, actor_for(people.dave)) == []


def test_a_request_lapses_after_a_day(
    appliance: Appliance,
    people: People,
    two_person: Settings,
    second_admin: User,
    frozen_clock: Clock,
) -> None:
    request_id = _request_sam_for_bob(appliance, people, two_person)
    frozen_clock.advance(hours=25)
    with appliance.unit_of_work() as db:
        assert pending_requests(db, actor_for(second_admin)) == []
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="expired"):
        approve(db, two_person, request_id, by=actor_for(second_admin))
    assert _bobs_supervisor(appliance, people) is None


def test_a_request_that_could_never_run_is_refused_when_made(
    appliance: Appliance, people: People, two_person: Settings
) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="not a supervisor"):
        bob = db.get(User, people.bob.id)
        erin = db.get(User, people.erin.id)
        assert bob is not None and erin is not None
        change_supervisor(db, two_person, bob, erin, by=actor_for(people.dave))


def test_removing_the_co_signer_of_a_clinician_who_needs_one_is_refused_when_asked(
    appliance: Appliance, people: People, two_person: Settings
) -> None:
    with appliance.unit_of_work() as db:
        alice = db.get(User, people.alice.id)
        assert alice is not None
        alice.requires_cosign = True
        db.add(alice)
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="co-signature"):
        alice = db.get(User, people.alice.id)
        assert alice is not None
        change_supervisor(db, two_person, alice, None, by=actor_for(people.dave))


def test_only_admins_file_or_decide_requests(
    appliance: Appliance, people: People, two_person: Settings
) -> None:
    from appliance.access import AccessDenied

    request_id = _request_sam_for_bob(appliance, people, two_person)
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        approve(db, two_person, request_id, by=actor_for(people.carol))

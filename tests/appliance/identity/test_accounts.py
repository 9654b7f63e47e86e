from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from appliance.access import AccessDenied, NotFound
from appliance.identity import accounts
from appliance.identity.accounts import AccountError
from appliance.identity.sessions import resume_session, start_session
from appliance.models import UserSession
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import Clock, People


def test_usernames_are_unique_regardless_of_case(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="taken"):
        accounts.create_user(db, "Alice", Role.CLINICIAN, by=None)


def test_it_refuses_a_malformed_username(appliance: Appliance) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="Usernames"):
        accounts.create_user(db, "a b", Role.CLINICIAN, by=None)


def test_a_clinician_cannot_create_accounts(appliance: Appliance, people: People) -> None:
    alice = accounts.actor_for(people.alice)
    with appliance.unit_of_work() as db, pytest.raises(AccessDenied):
        accounts.create_user(db, "mallory", Role.ADMIN, by=alice)


def test_an_admin_creates_an_account_without_a_password(
    appliance: Appliance, people: People
) -> None:
    with appliance.unit_of_work() as db:
        user = accounts.create_user(db, "frank", Role.CLINICIAN, by=accounts.actor_for(people.dave))
    assert user.password_hash is None


def test_it_refuses_a_weak_initial_password(appliance: Appliance) -> None:
    with appliance.unit_of_work() as db, pytest.raises(accounts.PasswordRejected):
        accounts.create_user(db, "frank", Role.CLINICIAN, password="password1234", by=None)


def test_disabling_ends_every_session_of_that_person(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        tokens = [
            start_session(db, people.alice, appliance.settings, mfa_passed=True) for _ in "ab"
        ]
    with appliance.unit_of_work() as db:
        accounts.disable_user(db, accounts.get_user(db, people.alice.id or 0), by=None)
    with appliance.unit_of_work() as db:
        assert all(resume_session(db, t, appliance.settings) is None for t in tokens)
        reasons = {s.end_reason for s in db.exec(select(UserSession))}
    assert reasons == {"account_disabled"}


def test_the_last_active_admin_cannot_be_disabled(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="last active admin"):
        accounts.disable_user(db, accounts.get_user(db, people.dave.id or 0), by=None)


def test_a_clinician_has_at_most_one_supervisor(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        other = accounts.create_user(db, "grace", Role.SUPERVISOR, by=None)
        alice = accounts.get_user(db, people.alice.id or 0)
        accounts.assign_supervisor(db, alice, other, by=None)
    with appliance.unit_of_work() as db:
        assert accounts.supervisee_ids(db, people.carol.id or 0) == []
        supervisor = accounts.supervisor_of(db, people.alice.id or 0)
        assert supervisor is not None and supervisor.username == "grace"


def test_only_supervisors_can_supervise(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db, pytest.raises(AccountError, match="not a supervisor"):
        accounts.assign_supervisor(
            db,
            accounts.get_user(db, people.alice.id or 0),
            accounts.get_user(db, people.bob.id or 0),
            by=None,
        )


def test_it_finds_an_account_by_id_or_says_not_found(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        assert accounts.user_by_id(db, people.bob.id or 0).username == "bob"
        with pytest.raises(NotFound):
            accounts.user_by_id(db, 999_999)


def test_a_lockout_holds_until_its_time_runs_out(people: People, frozen_clock: Clock) -> None:
    alice = people.alice
    assert not accounts.is_locked(alice)
    alice.locked_until = frozen_clock.now + timedelta(minutes=15)
    assert accounts.is_locked(alice)
    frozen_clock.advance(minutes=15)
    assert not accounts.is_locked(alice)


def test_only_active_people_of_a_role_can_be_chosen(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        accounts.disable_user(db, accounts.get_user(db, people.bob.id or 0), by=None)
        accounts.create_user(db, "aaron", Role.CLINICIAN, by=None)
    with appliance.unit_of_work() as db:
        assert accounts.active_usernames(db, Role.CLINICIAN) == ["aaron", "alice"]
        assert accounts.active_usernames(db, Role.SUPERVISOR) == ["carol"]


def test_it_counts_active_accounts_for_every_role(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        assert accounts.active_users_by_role(db) == {
            "clinician": 2,
            "supervisor": 1,
            "admin": 1,
            "auditor": 1,
        }
        accounts.disable_user(db, accounts.get_user(db, people.erin.id or 0), by=None)
    with appliance.unit_of_work() as db:
        counts = accounts.active_users_by_role(db)
    assert counts["auditor"] == 0 and list(counts) == [role.value for role in Role]


def test_it_maps_each_supervised_clinician_to_their_supervisor(
    appliance: Appliance, people: People
) -> None:
    with appliance.unit_of_work() as db:
        assert accounts.supervisors_by_clinician(db) == {people.alice.id: "carol"}

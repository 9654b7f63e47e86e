from __future__ import annotations

import pytest
from sqlmodel import select

from appliance.access import AccessDenied
from appliance.identity import accounts
from appliance.identity.accounts import AccountError
from appliance.identity.sessions import resume_session, start_session
from appliance.models import UserSession
from appliance.roles import Role
from appliance.runtime import Appliance
from tests.conftest import People


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

from __future__ import annotations

from sqlmodel import select

from appliance.identity.sessions import (
    end_session,
    live_session_counts,
    resume_session,
    start_session,
)
from appliance.identity.tokens import token_digest
from appliance.models import UserSession
from appliance.runtime import Appliance
from tests.conftest import Clock, People


def _start(appliance: Appliance, people: People) -> str:
    with appliance.unit_of_work() as db:
        return start_session(db, people.alice, appliance.settings, mfa_passed=True)


def _alive(appliance: Appliance, token: str) -> bool:
    with appliance.unit_of_work() as db:
        return resume_session(db, token, appliance.settings) is not None


def test_the_token_is_stored_only_as_a_digest(appliance: Appliance, people: People) -> None:
    token = _start(appliance, people)
    with appliance.unit_of_work() as db:
        stored = db.exec(select(UserSession.token_hash)).one()
    assert stored == token_digest(token) != token
    assert len(token) >= 43  # 32 random bytes, base64url


def test_a_session_ends_after_fifteen_idle_minutes(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    token = _start(appliance, people)
    frozen_clock.advance(minutes=14, seconds=59)
    assert _alive(appliance, token)
    frozen_clock.advance(minutes=15)
    assert not _alive(appliance, token)
    with appliance.unit_of_work() as db:
        assert db.exec(select(UserSession.end_reason)).one() == "idle_timeout"


def test_activity_keeps_a_session_alive_up_to_twelve_hours(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    token = _start(appliance, people)
    for _ in range(12 * 6 - 1):
        frozen_clock.advance(minutes=10)
        assert _alive(appliance, token)
    frozen_clock.advance(minutes=10)
    assert not _alive(appliance, token)
    with appliance.unit_of_work() as db:
        assert db.exec(select(UserSession.end_reason)).one() == "expired"


def test_the_idle_timeout_is_configurable(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    token = _start(appliance, people)
    short = appliance.settings.model_copy(update={"idle_timeout_minutes": 5})
    frozen_clock.advance(minutes=6)
    with appliance.unit_of_work() as db:
        assert resume_session(db, token, short) is None


def test_an_ended_session_stays_ended(appliance: Appliance, people: People) -> None:
    token = _start(appliance, people)
    with appliance.unit_of_work() as db:
        end_session(db, token)
    assert not _alive(appliance, token)


def test_an_unknown_token_is_no_session(appliance: Appliance, people: People) -> None:
    assert not _alive(appliance, "not-a-token")


def test_live_sessions_are_counted_per_person_until_ended_or_expired(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    _start(appliance, people)
    _start(appliance, people)
    with appliance.unit_of_work() as db:
        bobs = start_session(db, people.bob, appliance.settings, mfa_passed=True)
    with appliance.unit_of_work() as db:
        end_session(db, bobs)
    with appliance.unit_of_work() as db:
        assert live_session_counts(db) == {people.alice.id: 2}
    frozen_clock.advance(hours=appliance.settings.session_lifetime_hours)
    with appliance.unit_of_work() as db:
        assert live_session_counts(db) == {}

from __future__ import annotations

from appliance import metrics
from appliance.audit.chain import EventData
from appliance.audit.record import Outcome
from appliance.identity.authentication import sign_in_with_password
from appliance.runtime import Appliance
from tests.conftest import PASSWORD, Clock, People


def _attempt(appliance: Appliance, username: str, password: str) -> bool:
    return sign_in_with_password(appliance.engine, appliance.settings, username, password).ok


def test_the_right_password_signs_in(appliance: Appliance, people: People) -> None:
    assert _attempt(appliance, "alice", PASSWORD)


def test_the_username_is_case_insensitive(appliance: Appliance, people: People) -> None:
    assert _attempt(appliance, " Alice ", PASSWORD)


def test_five_failures_lock_the_account_even_for_the_right_password(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    for _ in range(5):
        assert not _attempt(appliance, "alice", "wrong-password-here")
    assert not _attempt(appliance, "alice", PASSWORD)


def test_the_lock_lifts_after_fifteen_minutes(
    appliance: Appliance, people: People, frozen_clock: Clock
) -> None:
    for _ in range(5):
        _attempt(appliance, "alice", "wrong-password-here")
    frozen_clock.advance(minutes=14)
    assert not _attempt(appliance, "alice", PASSWORD)
    frozen_clock.advance(minutes=1, seconds=1)
    assert _attempt(appliance, "alice", PASSWORD)


def test_four_failures_then_success_resets_the_count(appliance: Appliance, people: People) -> None:
    for _ in range(4):
        _attempt(appliance, "alice", "wrong-password-here")
    assert _attempt(appliance, "alice", PASSWORD)
    for _ in range(4):
        _attempt(appliance, "alice", "wrong-password-here")
    assert _attempt(appliance, "alice", PASSWORD)


def test_a_lockout_is_counted_and_audited(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    before = metrics.ACCOUNT_LOCKOUTS._value.get()
    for _ in range(5):
        _attempt(appliance, "alice", "wrong-password-here")
    assert metrics.ACCOUNT_LOCKOUTS._value.get() == before + 1
    lockouts = [e for e in audit_events if e.action == "auth.lockout"]
    assert [e.object_id for e in lockouts] == [str(people.alice.id)]


def test_every_attempt_is_recorded_without_the_typed_username(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    _attempt(appliance, "alice", PASSWORD)
    _attempt(appliance, "alice", "wrong-password-here")
    _attempt(appliance, "nobody-by-this-name", "wrong-password-here")
    logins = [e for e in audit_events if e.action == "auth.login"]
    assert [(e.outcome, e.reason) for e in logins] == [
        (Outcome.ALLOWED, None),
        (Outcome.FAILED, "bad_password"),
        (Outcome.FAILED, "unknown_user"),
    ]
    assert "nobody-by-this-name" not in repr(audit_events)


def test_a_disabled_account_cannot_sign_in(appliance: Appliance, people: People) -> None:
    from appliance.identity import accounts

    with appliance.unit_of_work() as db:
        accounts.disable_user(db, accounts.get_user(db, people.bob.id or 0), by=None)
    assert not _attempt(appliance, "bob", PASSWORD)


def test_an_unknown_username_fails_like_a_wrong_password(
    appliance: Appliance, people: People
) -> None:
    unknown = sign_in_with_password(appliance.engine, appliance.settings, "nobody", PASSWORD)
    wrong = sign_in_with_password(
        appliance.engine, appliance.settings, "alice", "wrong-password-here"
    )
    assert unknown == wrong

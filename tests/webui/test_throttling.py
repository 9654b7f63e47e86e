"""Throttling of the credential forms: per address first, so one outsider cannot keep an
account locked, while guesses from several addresses still lock it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.audit.chain import EventData
from appliance.identity import accounts
from appliance.runtime import Appliance
from tests.conftest import PASSWORD, Browser, People
from webui.app import create_app


@pytest.fixture
def from_address(appliance: Appliance) -> Callable[[str], Browser]:
    """Browsers on one app (one throttle), each from its own address."""
    app = create_app(appliance)

    def open_browser(address: str) -> Browser:
        return Browser(app, base_url="https://testserver", client=(address, 50000))

    return open_browser


def _locked(appliance: Appliance, people: People) -> bool:
    with appliance.unit_of_work() as db:
        return accounts.is_locked(accounts.get_user(db, people.alice.id or 0))


def test_one_address_is_throttled_before_it_can_lock_the_account(
    appliance: Appliance,
    people: People,
    from_address: Callable[[str], Browser],
    audit_events: list[EventData],
) -> None:
    outsider = from_address("203.0.113.9")
    for _ in range(appliance.settings.lockout_threshold - 1):
        assert outsider.sign_in("alice", "guess-guess-guess").status_code == 401
    for _ in range(3):
        refused = outsider.sign_in("alice", PASSWORD)  # even the right password
        assert refused.status_code == 429 and "Too many attempts" in refused.text
        assert int(refused.headers["retry-after"]) > 0
    assert not _locked(appliance, people)
    # alice, at her own desk, is not affected.
    assert from_address("192.0.2.10").sign_in("alice").status_code == 303
    noted = [e for e in audit_events if e.action == "auth.throttled"]
    assert [(e.outcome, e.reason) for e in noted] == [("denied", "account_address")]


def test_guesses_from_several_addresses_still_lock_the_account(
    appliance: Appliance, people: People, from_address: Callable[[str], Browser]
) -> None:
    for address in ("203.0.113.1", "203.0.113.2"):
        guesser = from_address(address)
        for _ in range(appliance.settings.lockout_threshold - 1):
            guesser.sign_in("alice", "guess-guess-guess")
    assert _locked(appliance, people)


def test_an_address_that_posts_too_often_is_throttled_for_every_account(
    people: People, from_address: Callable[[str], Browser]
) -> None:
    flood = from_address("198.51.100.7")
    answers = [flood.sign_in(f"user{n}", "guess-guess-guess").status_code for n in range(31)]
    assert answers[:30] == [401] * 30 and answers[30] == 429
    assert flood.sign_in("bob").status_code == 429
    assert from_address("192.0.2.20").sign_in("bob").status_code == 303


def test_with_two_processes_one_address_still_cannot_lock_the_account(
    appliance: Appliance, people: People
) -> None:
    # Each `appliance serve --workers 2` process has its own throttle: one address's guesses,
    # spread over both, must still stop short of the lockout.
    processes = [create_app(appliance, processes=2) for _ in range(2)]
    outsider = [
        Browser(app, base_url="https://testserver", client=("203.0.113.9", 50000))
        for app in processes
    ]
    answers = [outsider[n % 2].sign_in("alice", "guess-guess-guess").status_code for n in range(10)]
    assert answers.count(401) == appliance.settings.lockout_threshold - 1
    assert not _locked(appliance, people)

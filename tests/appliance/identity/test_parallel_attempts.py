"""Parallel attempts on one account: single-use codes stay single-use, every failure counts,
and the lockout holds a guesser to the threshold however many requests they send at once.

On SQLite every unit of work already holds the write lock (BEGIN IMMEDIATE), so these pass
by serialisation there; with APPLIANCE_TEST_DATABASE_URL they run on PostgreSQL, where
attempts really overlap.
"""

from __future__ import annotations

from collections import Counter

from appliance.audit.chain import EventData
from appliance.identity import accounts
from appliance.identity.authentication import complete_second_factor, sign_in_with_password
from appliance.identity.reauthentication import ReauthFailure, reauthenticate
from appliance.runtime import Appliance
from appliance.settings import Settings
from tests.appliance.identity.enrolment import all_at_once, enrol, totp_code, user, wrong_code
from tests.conftest import PASSWORD, People

ATTEMPTS = 20


def _partial_token(appliance: Appliance) -> str:
    result = sign_in_with_password(appliance.engine, appliance.settings, "alice", PASSWORD)
    assert result.needs_second_factor and result.token is not None
    return result.token


def _second_factor(
    appliance: Appliance, user_id: int, token: str, code: str, settings: Settings | None = None
) -> str | None:
    with appliance.unit_of_work() as db:
        return complete_second_factor(
            db,
            settings or appliance.settings,
            appliance.keys,
            accounts.get_user(db, user_id),
            token,
            code,
        )


def test_one_recovery_code_sent_twenty_times_at_once_works_exactly_once(
    appliance: Appliance, people: People
) -> None:
    alice = people.alice.id or 0
    _, codes = enrol(appliance, alice)
    token = _partial_token(appliance)
    # A threshold of 20 keeps the 19 refusals from locking the account halfway through.
    settings = appliance.settings.model_copy(update={"lockout_threshold": ATTEMPTS})
    results = all_at_once(
        ATTEMPTS, lambda: _second_factor(appliance, alice, token, codes[0], settings)
    )
    assert sum(r is not None for r in results) == 1
    assert user(appliance, alice).failed_logins == ATTEMPTS - 1


def test_one_totp_code_sent_twenty_times_at_once_works_exactly_once(
    appliance: Appliance, people: People
) -> None:
    alice = people.alice.id or 0
    secret, _ = enrol(appliance, alice)
    token = _partial_token(appliance)
    code = totp_code(secret, 1)  # the next step's code: it stays valid for the whole test
    settings = appliance.settings.model_copy(update={"lockout_threshold": ATTEMPTS})
    results = all_at_once(ATTEMPTS, lambda: _second_factor(appliance, alice, token, code, settings))
    assert sum(r is not None for r in results) == 1


def test_twenty_wrong_codes_at_once_count_twenty_failures(
    appliance: Appliance, people: People
) -> None:
    """With the threshold at 20, the account locks only if not one of the 20 was lost."""
    alice = people.alice.id or 0
    secret, _ = enrol(appliance, alice)
    token = _partial_token(appliance)
    settings = appliance.settings.model_copy(update={"lockout_threshold": ATTEMPTS})
    results = all_at_once(
        ATTEMPTS, lambda: _second_factor(appliance, alice, token, wrong_code(secret), settings)
    )
    assert results == [None] * ATTEMPTS
    assert user(appliance, alice).locked_until is not None


def test_twenty_wrong_codes_at_once_are_checked_no_more_than_the_threshold_allows(
    appliance: Appliance, people: People, audit_events: list[EventData]
) -> None:
    """Requests already in flight when the account locks are refused, not checked: a guesser
    gets five tries per lockout, not as many as they can send at once."""
    alice = people.alice.id or 0
    secret, _ = enrol(appliance, alice)
    token = _partial_token(appliance)
    all_at_once(ATTEMPTS, lambda: _second_factor(appliance, alice, token, wrong_code(secret)))
    outcomes = Counter(
        (e.action, e.reason) for e in audit_events if e.action in {"auth.mfa", "auth.lockout"}
    )
    assert outcomes[("auth.mfa", "bad_code")] == appliance.settings.lockout_threshold
    assert outcomes[("auth.lockout", None)] == 1
    assert user(appliance, alice).locked_until is not None


def test_one_recovery_code_at_twenty_reauthentications_at_once_works_exactly_once(
    appliance: Appliance, people: People
) -> None:
    """Signing a note asks for the code again; the same code cannot sign twice."""
    alice = people.alice.id or 0
    _, codes = enrol(appliance, alice)
    settings = appliance.settings.model_copy(update={"lockout_threshold": ATTEMPTS})

    def reauth() -> ReauthFailure | None:
        with appliance.unit_of_work() as db:
            return reauthenticate(
                db, settings, appliance.keys, accounts.get_user(db, alice), PASSWORD, codes[1]
            )

    results = all_at_once(ATTEMPTS, reauth)
    assert results.count(None) == 1
    assert user(appliance, alice).failed_logins == ATTEMPTS - 1

from __future__ import annotations

import pyotp
import pytest

from appliance.identity import accounts
from appliance.identity.authentication import complete_second_factor, sign_in
from appliance.identity.mfa import (
    begin_enrolment,
    confirm_enrolment,
    remaining_recovery_codes,
    reset_mfa,
    verify_second_factor,
)
from appliance.identity.sessions import resume_session
from appliance.models import User
from appliance.runtime import Appliance
from tests.conftest import PASSWORD, People


def _enrol(appliance: Appliance, user_id: int) -> tuple[str, list[str]]:
    with appliance.unit_of_work() as db:
        enrolment = begin_enrolment(db, appliance.keys, accounts.get_user(db, user_id))
    # The code that confirms enrolment is spent; later sign-ins use the next time step.
    with appliance.unit_of_work() as db:
        codes = confirm_enrolment(
            db, appliance.keys, accounts.get_user(db, user_id), _code(enrolment.secret, -1)
        )
    assert codes is not None
    return enrolment.secret, codes


def _code(secret: str, steps: int = 0) -> str:
    import time

    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def _user(appliance: Appliance, user_id: int) -> User:
    with appliance.unit_of_work() as db:
        return accounts.get_user(db, user_id)


def test_the_seed_is_not_stored_in_clear(appliance: Appliance, people: People) -> None:
    secret, _ = _enrol(appliance, people.alice.id or 0)
    sealed = _user(appliance, people.alice.id or 0).mfa_secret_sealed
    assert sealed is not None and secret.encode() not in sealed


def test_a_wrong_code_does_not_turn_mfa_on(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        begin_enrolment(db, appliance.keys, accounts.get_user(db, people.alice.id or 0))
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert confirm_enrolment(db, appliance.keys, user, "000000") is None
    assert not _user(appliance, people.alice.id or 0).mfa_enabled


def test_enrolment_yields_ten_recovery_codes(appliance: Appliance, people: People) -> None:
    _, codes = _enrol(appliance, people.alice.id or 0)
    assert len(set(codes)) == 10


def test_a_totp_code_works_once(appliance: Appliance, people: People) -> None:
    secret, _ = _enrol(appliance, people.alice.id or 0)
    code = _code(secret)
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert verify_second_factor(db, appliance.keys, user, code) == "totp"
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert verify_second_factor(db, appliance.keys, user, code) is None


def test_a_recovery_code_works_once(appliance: Appliance, people: People) -> None:
    _, codes = _enrol(appliance, people.alice.id or 0)
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert verify_second_factor(db, appliance.keys, user, codes[3].upper()) == "recovery_code"
        assert remaining_recovery_codes(db, user) == 9
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert verify_second_factor(db, appliance.keys, user, codes[3]) is None


def test_sign_in_with_mfa_needs_the_second_factor_and_renews_the_token(
    appliance: Appliance, people: People
) -> None:
    secret, _ = _enrol(appliance, people.alice.id or 0)
    with appliance.unit_of_work() as db:
        result = sign_in(db, appliance.settings, "alice", PASSWORD)
    assert result.needs_second_factor and result.token
    with appliance.unit_of_work() as db:
        live = resume_session(db, result.token, appliance.settings)
        assert live is not None and not live.session.mfa_passed
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        full = complete_second_factor(
            db, appliance.settings, appliance.keys, user, result.token, _code(secret)
        )
    assert full is not None and full != result.token
    with appliance.unit_of_work() as db:
        assert resume_session(db, result.token, appliance.settings) is None
        live = resume_session(db, full, appliance.settings)
        assert live is not None and live.session.mfa_passed


def test_wrong_second_factor_codes_count_towards_lockout(
    appliance: Appliance, people: People
) -> None:
    _enrol(appliance, people.alice.id or 0)
    with appliance.unit_of_work() as db:
        token = sign_in(db, appliance.settings, "alice", PASSWORD).token
    assert token is not None
    for _ in range(5):
        with appliance.unit_of_work() as db:
            user = accounts.get_user(db, people.alice.id or 0)
            complete_second_factor(db, appliance.settings, appliance.keys, user, token, "123456")
    user = _user(appliance, people.alice.id or 0)
    assert user.locked_until is not None
    with appliance.unit_of_work() as db:
        assert resume_session(db, token, appliance.settings) is None


def test_only_an_admin_resets_someone_elses_mfa(appliance: Appliance, people: People) -> None:
    _enrol(appliance, people.alice.id or 0)
    with appliance.unit_of_work() as db, pytest.raises(Exception, match="may not"):
        reset_mfa(
            db, accounts.get_user(db, people.alice.id or 0), by=accounts.actor_for(people.bob)
        )
    with appliance.unit_of_work() as db:
        reset_mfa(
            db, accounts.get_user(db, people.alice.id or 0), by=accounts.actor_for(people.dave)
        )
    user = _user(appliance, people.alice.id or 0)
    assert not user.mfa_enabled and user.mfa_secret_sealed is None

from __future__ import annotations

import hashlib
import math

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select

from appliance.identity import accounts
from appliance.identity.authentication import complete_second_factor, sign_in_with_password
from appliance.identity.mfa import (
    begin_enrolment,
    confirm_enrolment,
    remaining_recovery_codes,
    reset_mfa,
    verify_second_factor,
)
from appliance.identity.sessions import resume_session
from appliance.migrate import alembic_config, upgrade_to_head
from appliance.models import RecoveryCode
from appliance.runtime import Appliance
from tests.appliance.identity.enrolment import enrol, totp_code, wrong_code
from tests.appliance.identity.enrolment import user as user_of
from tests.conftest import PASSWORD, People


def test_the_seed_is_not_stored_in_clear(appliance: Appliance, people: People) -> None:
    secret, _ = enrol(appliance, people.alice.id or 0)
    sealed = user_of(appliance, people.alice.id or 0).mfa_secret_sealed
    assert sealed is not None and secret.encode() not in sealed


def test_a_wrong_code_does_not_turn_mfa_on(appliance: Appliance, people: People) -> None:
    with appliance.unit_of_work() as db:
        begin_enrolment(db, appliance.keys, accounts.get_user(db, people.alice.id or 0))
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert confirm_enrolment(db, appliance.keys, user, "000000") is None
    assert not user_of(appliance, people.alice.id or 0).mfa_enabled


def test_enrolment_yields_ten_recovery_codes(appliance: Appliance, people: People) -> None:
    _, codes = enrol(appliance, people.alice.id or 0)
    assert len(set(codes)) == 10


def test_a_totp_code_works_once(appliance: Appliance, people: People) -> None:
    secret, _ = enrol(appliance, people.alice.id or 0)
    code = totp_code(secret)
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert verify_second_factor(db, appliance.keys, user, code) == "totp"
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        assert verify_second_factor(db, appliance.keys, user, code) is None


def test_a_recovery_code_works_once(appliance: Appliance, people: People) -> None:
    _, codes = enrol(appliance, people.alice.id or 0)
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
    secret, _ = enrol(appliance, people.alice.id or 0)
    result = sign_in_with_password(appliance.engine, appliance.settings, "alice", PASSWORD)
    assert result.needs_second_factor and result.token
    with appliance.unit_of_work() as db:
        live = resume_session(db, result.token, appliance.settings)
        assert live is not None and not live.session.mfa_passed
    with appliance.unit_of_work() as db:
        user = accounts.get_user(db, people.alice.id or 0)
        full = complete_second_factor(
            db, appliance.settings, appliance.keys, user, result.token, totp_code(secret)
        )
    assert full is not None and full != result.token
    with appliance.unit_of_work() as db:
        assert resume_session(db, result.token, appliance.settings) is None
        live = resume_session(db, full, appliance.settings)
        assert live is not None and live.session.mfa_passed


def test_wrong_second_factor_codes_count_towards_lockout(
    appliance: Appliance, people: People
) -> None:
    secret, _ = enrol(appliance, people.alice.id or 0)
    token = sign_in_with_password(appliance.engine, appliance.settings, "alice", PASSWORD).token
    assert token is not None
    for _ in range(5):
        with appliance.unit_of_work() as db:
            user = accounts.get_user(db, people.alice.id or 0)
            complete_second_factor(
                db, appliance.settings, appliance.keys, user, token, wrong_code(secret)
            )
    user = user_of(appliance, people.alice.id or 0)
    assert user.locked_until is not None
    with appliance.unit_of_work() as db:
        assert resume_session(db, token, appliance.settings) is None


def test_only_an_admin_resets_someone_elses_mfa(appliance: Appliance, people: People) -> None:
    enrol(appliance, people.alice.id or 0)
    with appliance.unit_of_work() as db, pytest.raises(Exception, match="may not"):
        reset_mfa(
            db, accounts.get_user(db, people.alice.id or 0), by=accounts.actor_for(people.bob)
        )
    with appliance.unit_of_work() as db:
        reset_mfa(
            db, accounts.get_user(db, people.alice.id or 0), by=accounts.actor_for(people.dave)
        )
    user = user_of(appliance, people.alice.id or 0)
    assert not user.mfa_enabled and user.mfa_secret_sealed is None


def test_the_right_password_between_wrong_codes_does_not_reset_the_lockout_count(
    appliance: Appliance, people: People
) -> None:
    """Signing in again after four wrong codes must not buy four more: the password alone is
    not a sign-in, so the count survives it until the second factor passes too."""
    secret, _ = enrol(appliance, people.alice.id or 0)
    for _ in range(2):
        result = sign_in_with_password(appliance.engine, appliance.settings, "alice", PASSWORD)
        assert result.token is not None
        for _ in range(4):
            with appliance.unit_of_work() as db:
                user = accounts.get_user(db, people.alice.id or 0)
                complete_second_factor(
                    db, appliance.settings, appliance.keys, user, result.token, wrong_code(secret)
                )
    assert user_of(appliance, people.alice.id or 0).locked_until is not None
    assert not sign_in_with_password(appliance.engine, appliance.settings, "alice", PASSWORD).ok


def test_the_right_second_factor_resets_the_lockout_count(
    appliance: Appliance, people: People
) -> None:
    secret, _ = enrol(appliance, people.alice.id or 0)
    token = sign_in_with_password(appliance.engine, appliance.settings, "alice", PASSWORD).token
    assert token is not None
    for code in [wrong_code(secret)] * 4 + [totp_code(secret)]:
        with appliance.unit_of_work() as db:
            user = accounts.get_user(db, people.alice.id or 0)
            complete_second_factor(db, appliance.settings, appliance.keys, user, token, code)
    assert user_of(appliance, people.alice.id or 0).failed_logins == 0


# Crockford's base32: no I, L, O or U, so nothing reads as another character.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _typed(code: str) -> str:
    return code.replace("-", "").replace(" ", "").upper()


def test_a_recovery_code_carries_at_least_80_random_bits(
    appliance: Appliance, people: People
) -> None:
    _, codes = enrol(appliance, people.alice.id or 0)
    for code in codes:
        assert set(_typed(code)) <= set(RECOVERY_ALPHABET), code
        assert len(_typed(code)) * math.log2(len(RECOVERY_ALPHABET)) >= 80, code
        # Groups of four: read aloud, typed and compared in pieces.
        assert [len(group) for group in code.split("-")] == [4, 4, 4, 4], code


def test_a_recovery_code_is_stored_as_a_keyed_digest_not_its_sha256(
    appliance: Appliance, people: People
) -> None:
    _, codes = enrol(appliance, people.alice.id or 0)
    with appliance.unit_of_work() as db:
        stored = set(db.exec(select(RecoveryCode.code_hash)).all())
    assert len(stored) == len(codes)
    for code in codes:
        for form in {code, _typed(code), _typed(code).lower(), code.lower()}:
            assert hashlib.sha256(form.encode()).hexdigest() not in stored


def test_a_recovery_code_is_typed_in_any_case_with_or_without_dashes_and_spaces(
    appliance: Appliance, people: People
) -> None:
    _, codes = enrol(appliance, people.alice.id or 0)
    typed = [
        codes[0].lower(),
        _typed(codes[1]),
        " ".join(codes[2].split("-")),
        f"  {codes[3].lower()} ",
    ]
    for code in typed:
        with appliance.unit_of_work() as db:
            user = accounts.get_user(db, people.alice.id or 0)
            assert verify_second_factor(db, appliance.keys, user, code) == "recovery_code", code
    assert _remaining(appliance, people.alice.id or 0) == len(codes) - len(typed)


def _remaining(appliance: Appliance, user_id: int) -> int:
    with appliance.unit_of_work() as db:
        return remaining_recovery_codes(db, accounts.get_user(db, user_id))


def _migrate(appliance: Appliance, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with appliance.engine.begin() as connection:
        config.attributes["connection"] = connection
        config.attributes["keys"] = appliance.keys
        (command.downgrade if down else command.upgrade)(config, revision)


def test_a_recovery_code_of_the_old_format_still_works_once_after_the_upgrade(
    appliance: Appliance, people: People
) -> None:
    """Codes handed out before 0007 (ten hex digits, stored as their bare SHA-256) are re-keyed
    by the migration: the person's printed codes keep working, and the database holds no
    unkeyed digest of a 40-bit code any more."""
    alice = people.alice.id or 0
    enrol(appliance, alice)
    old_code = "3f9c0-7a21e"
    old_digest = hashlib.sha256(b"3f9c07a21e").hexdigest()
    with appliance.engine.begin() as connection:
        connection.execute(text("DELETE FROM recovery_codes"))
    _migrate(appliance, "0006", down=True)
    try:
        with appliance.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO recovery_codes (user_id, code_hash) VALUES (:user, :digest)"),
                {"user": alice, "digest": old_digest},
            )
    finally:
        _migrate(appliance, "head")
    with appliance.unit_of_work() as db:
        assert old_digest not in db.exec(select(RecoveryCode.code_hash)).all()
    for expected in ("recovery_code", None):
        with appliance.unit_of_work() as db:
            user = accounts.get_user(db, alice)
            assert verify_second_factor(db, appliance.keys, user, old_code.upper()) == expected


def test_the_upgrade_refuses_to_run_without_the_keys_when_old_codes_exist(
    appliance: Appliance, people: People
) -> None:
    alice = people.alice.id or 0
    enrol(appliance, alice)
    with appliance.engine.begin() as connection:
        connection.execute(text("DELETE FROM recovery_codes"))
    _migrate(appliance, "0006", down=True)
    try:
        with appliance.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO recovery_codes (user_id, code_hash) VALUES (:user, :digest)"),
                {"user": alice, "digest": hashlib.sha256(b"3f9c07a21e").hexdigest()},
            )
        with pytest.raises(RuntimeError, match="appliance migrate"):
            upgrade_to_head(appliance.engine)
    finally:
        _migrate(appliance, "head")

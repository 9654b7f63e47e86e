from __future__ import annotations

import pytest

from appliance.identity.passwords import check_policy, hash_password, verify_password


def test_it_hashes_with_argon2id_at_owasp_strength() -> None:
    encoded = hash_password("quiet-harbour-lantern-47")
    assert encoded.startswith("$argon2id$")
    params = dict(p.split("=") for p in encoded.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2


def test_it_verifies_the_right_password_only() -> None:
    encoded = hash_password("quiet-harbour-lantern-47")
    assert verify_password("quiet-harbour-lantern-47", encoded)
    assert not verify_password("quiet-harbour-lantern-48", encoded)


def test_it_matches_composed_and_decomposed_unicode() -> None:
    encoded = hash_password("caf\u00e9-orchard-window-9")
    assert verify_password("cafe\u0301-orchard-window-9", encoded)


@pytest.mark.parametrize(
    "password", ["short-1A!", "password1234", "qwertyuiop12", "Password123!", "123456789012"]
)
def test_it_refuses_short_or_common_passwords(password: str) -> None:
    assert not check_policy(password).ok


def test_it_refuses_a_password_containing_the_username() -> None:
    assert not check_policy("alice-harbour-lantern", username="alice").ok


def test_it_accepts_a_long_passphrase_of_64_characters() -> None:
    passphrase = "violet tram ledger quietly folds seven paper cranes at dusk ok!!"
    assert len(passphrase) == 64
    assert check_policy(passphrase).ok


def test_it_refuses_beyond_the_maximum_length() -> None:
    assert not check_policy("x" * 129).ok

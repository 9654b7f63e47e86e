"""The one AES-256-GCM helper, and proof that its callers still read what they wrote before it.

Values sealed before appliance.crypto.aead existed are on disk in every installed box: each
caller's wire format (wrapped data keys, versioned PHI fields, TOTP seeds) must stay readable.
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from appliance.crypto import aead, credential_box
from appliance.crypto.envelope import FORMAT_VERSION, DecryptionError, RecordKey, unseal_bytes
from appliance.crypto.keyring import KeyRing

KEY = bytes(range(32))


def _sealed_the_old_way(key: bytes, plaintext: bytes, aad: bytes, prefix: bytes = b"") -> bytes:
    nonce = os.urandom(12)
    return prefix + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def test_it_opens_what_it_sealed_and_nothing_else() -> None:
    sealed = aead.seal(KEY, b"PHQ-9 of 14", b"clients/1/note")
    assert aead.unseal(KEY, sealed, b"clients/1/note") == b"PHQ-9 of 14"
    with pytest.raises(aead.Unsealable):
        aead.unseal(KEY, sealed, b"clients/2/note")  # copied onto another row
    with pytest.raises(aead.Unsealable):
        aead.unseal(aead.new_key(), sealed, b"clients/1/note")


def test_a_changed_byte_is_refused() -> None:
    sealed = bytearray(aead.seal(KEY, b"denies SI", b"aad"))
    sealed[-1] ^= 1
    with pytest.raises(aead.Unsealable):
        aead.unseal(KEY, bytes(sealed), b"aad")


def test_the_wire_form_is_prefix_nonce_ciphertext_and_tag() -> None:
    sealed = aead.seal(KEY, b"x" * 10, b"aad", prefix=b"\x01")
    assert sealed[:1] == b"\x01" and len(sealed) == 1 + 12 + 10 + 16
    with pytest.raises(aead.Unsealable, match="format"):
        aead.unseal(KEY, sealed, b"aad", prefix=b"\x02")


def test_two_seals_of_the_same_value_differ() -> None:
    assert aead.seal(KEY, b"same", b"aad") != aead.seal(KEY, b"same", b"aad")


def test_a_phi_field_sealed_before_the_helper_still_opens() -> None:
    key = RecordKey(7, KEY)
    old = _sealed_the_old_way(KEY, b"Ann A", b"clients/c1/display_name/dek:7", FORMAT_VERSION)
    assert unseal_bytes(key, "clients", "c1", "display_name", old) == b"Ann A"
    with pytest.raises(DecryptionError):
        unseal_bytes(key, "clients", "c2", "display_name", old)


def test_a_data_key_wrapped_before_the_helper_still_unwraps() -> None:
    ring = KeyRing([KEY])
    dek = aead.new_key()
    old = _sealed_the_old_way(KEY, dek, f"dek:5:kek:{ring.active_id}".encode())
    assert ring.unwrap(ring.active_id, old, 5) == dek


def test_a_totp_seed_sealed_before_the_helper_still_opens() -> None:
    old = _sealed_the_old_way(KEY, b"JBSWY3DPEHPK3PXP", b"totp:3")
    assert credential_box.unseal(KEY, "totp", 3, old) == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(credential_box.CredentialUnsealError):
        credential_box.unseal(KEY, "totp", 4, old)

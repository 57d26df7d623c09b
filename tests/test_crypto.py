"""Encryption at rest (issue 19): the AEAD format, old Fernet rows, key rotation and tampering.

Every value is written as AES-256-GCM under a key derived from the newest agency key and named by
its key id; values written before (Fernet tokens) and values sealed under an older key are still
read, and ``Vault.reseal`` moves any of them to the newest key and format.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.crypto import MAGIC, Vault, new_key
from engine.errors import EncryptionKeyError

OLD, NEW = new_key(), new_key()


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_comes_back_as_it_went_in(text):
    vault = Vault([OLD])
    token = vault.encrypt(text)
    assert token.startswith(MAGIC) and vault.decrypt(token) == text
    assert len(text.encode("utf-8")) < 8 or text.encode("utf-8") not in token  # short ones may occur by chance


def test_two_sealings_of_one_value_differ():
    vault = Vault([OLD])
    assert vault.encrypt("Jordan Rivera") != vault.encrypt("Jordan Rivera")


def test_a_fernet_token_written_before_the_aead_format_is_still_read():
    before = Fernet(OLD.encode()).encrypt("jordan@example.org".encode())
    vault = Vault([OLD])
    assert vault.decrypt(before) == "jordan@example.org"
    assert not vault.is_current(before)
    resealed = vault.reseal(before)
    assert resealed.startswith(MAGIC) and vault.is_current(resealed) and vault.decrypt(resealed) == "jordan@example.org"


def test_after_a_rotation_old_values_read_and_reseal_under_the_newest_key():
    old_value = Vault([OLD]).encrypt("212 555 0101")
    rotated = Vault([NEW, OLD])
    assert rotated.decrypt(old_value) == "212 555 0101"
    assert not rotated.is_current(old_value)
    moved = rotated.reseal(old_value)
    assert rotated.is_current(moved)
    assert Vault([NEW]).decrypt(moved) == "212 555 0101"  # the old key can now be retired
    with pytest.raises(EncryptionKeyError):
        Vault([NEW]).decrypt(old_value)  # ... but not before the value was resealed
    assert rotated.reseal(moved) == moved  # nothing to do twice


@pytest.mark.parametrize("where", [len(MAGIC) + 1, len(MAGIC) + 4 + 3, -1, -20])
def test_a_changed_byte_anywhere_is_refused_not_misread(where):
    vault = Vault([OLD])
    token = bytearray(vault.encrypt("the victim's address"))
    token[where] ^= 0x01
    with pytest.raises(EncryptionKeyError, match="cannot be decrypted with this key"):
        vault.decrypt(bytes(token))


def test_a_value_from_another_agency_key_is_refused():
    with pytest.raises(EncryptionKeyError):
        Vault([NEW]).decrypt(Vault([OLD]).encrypt("name"))
    with pytest.raises(EncryptionKeyError):
        Vault([NEW]).decrypt(Fernet(OLD.encode()).encrypt(b"name"))


def test_the_check_value_stays_text_and_proves_the_key():
    vault = Vault([OLD])
    stored = vault.check_value()
    assert isinstance(stored, str)
    vault.verify_check_value(stored)
    Vault([NEW, OLD]).verify_check_value(stored)
    with pytest.raises(EncryptionKeyError):
        Vault([NEW]).verify_check_value(stored)

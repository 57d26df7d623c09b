"""Encryption at rest for names, contact details, letters and notice bodies.

The agency holds the key: ``VCASE_KEY`` or a key file created by
``vcase init`` with owner-only permissions. A check value stored in the
database at init proves, before anything is read, that the key in use is the
one the database was written with: a wrong key is a clear error, never
garbage. Several keys may be given (comma-separated, newest first) to rotate.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import EncryptionKeyError

CHECK_PLAINTEXT = b"vcase key check v1"


class Vault:
    """Encrypts and decrypts text with the agency key (Fernet: AES-128-CBC + HMAC)."""

    def __init__(self, keys: list[str]):
        from cryptography.fernet import Fernet, MultiFernet

        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except (ValueError, TypeError):
            raise EncryptionKeyError(
                "the encryption key is malformed; VCASE_KEY (or the key file) must hold a key made by `vcase init`"
            ) from None
        import hashlib

        # A key of its own for blind indexes and token hashes, derived from the newest agency key: the
        # agency key itself is never used for anything but Fernet.
        self._index_key = hashlib.sha256(b"vcase blind index v1\x00" + keys[0].strip().encode()).digest()

    def blind_index(self, value: str, purpose: str = "phone") -> str:
        """A keyed HMAC-SHA256 of ``value`` (hex): equal values match, and without the key nothing can
        be learned from it or checked against a guess. After a key rotation indexes are recomputed."""
        import hashlib
        import hmac

        return hmac.new(self._index_key, f"{purpose}\x00{value}".encode("utf-8"), hashlib.sha256).hexdigest()

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken:
            raise EncryptionKeyError(
                "a stored value cannot be decrypted with this key; set VCASE_KEY to the key this database uses"
            ) from None

    def encrypt_optional(self, text: str | None) -> bytes | None:
        return None if text in (None, "") else self.encrypt(text)

    def decrypt_optional(self, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(token)

    def check_value(self) -> str:
        return self.encrypt(CHECK_PLAINTEXT.decode()).decode()

    def verify_check_value(self, stored: str) -> None:
        from cryptography.fernet import InvalidToken

        try:
            ok = self._fernet.decrypt(stored.encode()) == CHECK_PLAINTEXT
        except InvalidToken:
            ok = False
        if not ok:
            raise EncryptionKeyError(
                "the encryption key is not the one this database was created with; "
                "set VCASE_KEY or VCASE_KEY_FILE to the agency's key"
            )


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def read_keys(key: str | None, key_file: Path) -> list[str] | None:
    """The configured keys, newest first, or None when none is configured."""
    if key:
        return [k for k in key.split(",") if k.strip()]
    if key_file.exists():
        return [k for k in key_file.read_text().replace("\n", ",").split(",") if k.strip()]
    return None


def create_key_file(key_file: Path) -> str:
    """Write a new key readable by its owner only; never overwrite one."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key

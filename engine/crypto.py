"""Encryption at rest for names, contact details, letters and notice bodies.

The agency holds the key: ``VCASE_KEY`` or a key file created by
``vcase init`` with owner-only permissions. A check value stored in the
database at init proves, before anything is read, that the key in use is the
one the database was written with: a wrong key is a clear error, never
garbage. Several keys may be given (comma-separated, newest first) to rotate.

What is written: AES-256-GCM (an AEAD, one call each way) under a key derived
from the agency key with HKDF, as ``MAGIC | key id (4) | nonce (12) |
ciphertext+tag``. The key id names which of the configured keys sealed it, so
a rotation reads old rows with the old key until ``vcase key reseal``
rewrites them under the newest. Rows written before this format (Fernet
tokens, urlsafe base64 beginning ``gAAAAA``) are still read, with the same
keys, and rewritten by the same command. Fernet cost about 20 us a call; the
AEAD about 2-4 us, which matters at four calls a fired timer (issue 19).
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import EncryptionKeyError

CHECK_PLAINTEXT = b"vcase key check v1"


MAGIC = b"\x00v2"  # never the start of a Fernet token (base64 text); the AEAD format's mark
_HEAD = len(MAGIC) + 4 + 12  # magic, key id, nonce


def _aead_key(key: str) -> tuple[bytes, bytes]:
    """(key id, AES-256 key) derived from one agency key (its 32 bytes, urlsafe base64)."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    material = base64.urlsafe_b64decode(key.strip().encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"vcase aead v2").derive(material)
    return hashlib.sha256(b"vcase key id\x00" + derived).digest()[:4], derived


class Vault:
    """Encrypts and decrypts text with the agency key (AES-256-GCM; Fernet tokens of older rows are read)."""

    def __init__(self, keys: list[str]):
        from cryptography.fernet import Fernet, MultiFernet
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
            sealed = [_aead_key(k) for k in keys]
        except (ValueError, TypeError):
            raise EncryptionKeyError(
                "the encryption key is malformed; VCASE_KEY (or the key file) must hold a key made by `vcase init`"
            ) from None
        self._newest_id, self._newest = sealed[0][0], AESGCM(sealed[0][1])
        self._by_id = {key_id: AESGCM(derived) for key_id, derived in reversed(sealed)}
        self._urandom = os.urandom
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
        nonce = self._urandom(12)  # random 96 bits: NIST SP 800-38D allows 2^32 values a key
        return MAGIC + self._newest_id + nonce + self._newest.encrypt(nonce, text.encode("utf-8"), None)

    def decrypt(self, token: bytes) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.fernet import InvalidToken

        token = bytes(token)
        try:
            if token[:len(MAGIC)] != MAGIC:
                return self._fernet.decrypt(token).decode("utf-8")  # written before the AEAD format
            aead = self._by_id.get(token[len(MAGIC):len(MAGIC) + 4])
            if aead is None:
                raise InvalidTag()
            return aead.decrypt(token[len(MAGIC) + 4:_HEAD], token[_HEAD:], None).decode("utf-8")
        except (InvalidToken, InvalidTag):
            raise EncryptionKeyError(
                "a stored value cannot be decrypted with this key; set VCASE_KEY to the key this database uses"
            ) from None

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` is sealed in the current format under the newest key (nothing to rewrite)."""
        token = bytes(token)
        return token[:len(MAGIC)] == MAGIC and token[len(MAGIC):len(MAGIC) + 4] == self._newest_id

    def reseal(self, token: bytes) -> bytes:
        """``token`` under the newest key and format (a key rotation, or a row from before the AEAD)."""
        return bytes(token) if self.is_current(token) else self.encrypt(self.decrypt(token))

    def encrypt_optional(self, text: str | None) -> bytes | None:
        return None if text in (None, "") else self.encrypt(text)

    def decrypt_optional(self, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(token)

    def check_value(self) -> str:
        return self._fernet.encrypt(CHECK_PLAINTEXT).decode()  # text in the meta table: a Fernet token

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

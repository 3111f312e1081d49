"""Secrets kept encrypted at rest (Fernet), under a key derived from the install's secret key.

A database dump alone then does not give what they protect (the TOTP secrets): the key lives in the
configuration or data_dir, never in the database. HKDF-SHA256 with a purpose label derives a key of its
own for each use, so the key that signs session cookies is never itself an encryption key. Rotating
`secret_key` makes every sealed value unreadable (those users' second factor is reset from the CLI).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "SecretBox"]


@lru_cache(maxsize=8)
def _fernet(secret_key: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class SecretBox:
    """Seal and open short text secrets for one purpose (e.g. b"totp secrets v1")."""

    def __init__(self, secret_key: str, purpose: bytes) -> None:
        self._fernet = _fernet(secret_key, purpose)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The plain text; InvalidToken when it was sealed under another key (or altered)."""
        return self._fernet.decrypt(sealed.encode("ascii")).decode()

"""Password hashing: PBKDF2-HMAC-SHA256 with a per-user random salt."""
from __future__ import annotations

import hashlib
import os

SALT_BYTES = 16


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def hash_password(password: str, salt: bytes, iterations: int) -> bytes:
    """The 32-byte PBKDF2-SHA256 digest of ``password``."""
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)

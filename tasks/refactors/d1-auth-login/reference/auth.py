"""Logging in and out."""
from __future__ import annotations

import hmac
import secrets

import passwords
from sessions import SessionStore
from users import UserStore

# Unknown users are checked against these, so they cost the same work as a wrong password.
_DUMMY_SALT = bytes(passwords.SALT_BYTES)
_DUMMY_HASH = bytes(32)


class InvalidCredentials(Exception):
    """The username or the password is wrong (deliberately not saying which)."""


def login(users: UserStore, sessions: SessionStore, username: str, password: str) -> str:
    """Check the credentials, start a session and return its token."""
    user = users.get(username)
    if user is None:
        candidate = passwords.hash_password(password, _DUMMY_SALT, users.iterations)
        hmac.compare_digest(candidate, _DUMMY_HASH)
        matches = False
    else:
        candidate = passwords.hash_password(password, user.salt, user.iterations)
        matches = hmac.compare_digest(candidate, user.password_hash)
    if not matches:
        raise InvalidCredentials("invalid username or password")
    token = secrets.token_hex(16)
    sessions.create(token, username)
    return token


def current_user(sessions: SessionStore, token: str) -> str | None:
    """The username logged in with ``token``, or None."""
    return sessions.username_for(token)


def logout(sessions: SessionStore, token: str) -> bool:
    """End the session; False if there was none."""
    return sessions.revoke(token)

"""Logging in and out."""
from __future__ import annotations

from sessions import SessionStore
from users import UserStore


class InvalidCredentials(Exception):
    """The username or the password is wrong (deliberately not saying which)."""


def login(users: UserStore, sessions: SessionStore, username: str, password: str) -> str:
    """Check the credentials, start a session and return its token."""
    raise NotImplementedError


def current_user(sessions: SessionStore, token: str) -> str | None:
    """The username logged in with ``token``, or None."""
    return sessions.username_for(token)


def logout(sessions: SessionStore, token: str) -> bool:
    """End the session; False if there was none."""
    return sessions.revoke(token)

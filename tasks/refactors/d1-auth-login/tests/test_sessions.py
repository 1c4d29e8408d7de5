"""Existing behaviour of sessions, current_user and logout; it must keep working."""
import pytest

from auth import current_user, logout
from sessions import SessionStore


def test_current_user_and_logout():
    sessions = SessionStore()
    sessions.create("tok-1", "alice")
    assert current_user(sessions, "tok-1") == "alice"
    assert current_user(sessions, "nope") is None
    assert logout(sessions, "tok-1") is True
    assert logout(sessions, "tok-1") is False
    assert current_user(sessions, "tok-1") is None
    assert len(sessions) == 0


def test_tokens_are_unique():
    sessions = SessionStore()
    sessions.create("tok", "alice")
    with pytest.raises(ValueError):
        sessions.create("tok", "bob")

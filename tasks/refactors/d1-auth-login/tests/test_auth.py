"""Acceptance tests for auth.login: tokens, constant-time checks, uniform failures."""
import hashlib
import hmac
import re
import secrets

import pytest

from auth import InvalidCredentials, current_user, login, logout
from sessions import SessionStore
from users import UserStore

ITERATIONS = 1000  # small, so the tests stay fast; login must use whatever the store says


@pytest.fixture
def users():
    store = UserStore(iterations=ITERATIONS)
    store.add("alice", "correct horse")
    return store


@pytest.fixture
def sessions():
    return SessionStore()


@pytest.fixture
def digest_calls(monkeypatch):
    """Every hmac.compare_digest call login makes, as (a, b) pairs; results are unchanged."""
    calls = []
    real = hmac.compare_digest

    def recording(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    return calls


def failure(users, sessions, username, password):
    with pytest.raises(InvalidCredentials) as info:
        login(users, sessions, username, password)
    return info.value


def test_correct_credentials_return_a_32_hex_char_token_bound_to_the_user(users, sessions):
    token = login(users, sessions, "alice", "correct horse")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert current_user(sessions, token) == "alice"


def test_token_comes_from_secrets_token_hex_16(users, sessions, monkeypatch):
    requested = []

    def fake_token_hex(nbytes=None):
        requested.append(nbytes)
        return "feedface" * 4

    monkeypatch.setattr(secrets, "token_hex", fake_token_hex)
    assert login(users, sessions, "alice", "correct horse") == "feedface" * 4
    assert requested == [16]
    assert current_user(sessions, "feedface" * 4) == "alice"


def test_each_login_gets_its_own_session(users, sessions):
    first = login(users, sessions, "alice", "correct horse")
    second = login(users, sessions, "alice", "correct horse")
    assert first != second
    assert len(sessions) == 2
    assert logout(sessions, first) is True
    assert current_user(sessions, first) is None
    assert current_user(sessions, second) == "alice"


def test_wrong_password_fails_without_a_session(users, sessions):
    failure(users, sessions, "alice", "wrong horse")
    assert len(sessions) == 0


def test_unknown_user_fails_without_a_session(users, sessions):
    failure(users, sessions, "mallory", "correct horse")
    assert len(sessions) == 0


@pytest.mark.parametrize("username, password", [("Alice", "correct horse"), ("alice", "Correct horse"),
                                                ("alice", ""), ("", "")])
def test_credentials_are_case_sensitive_and_empty_ones_fail(users, sessions, username, password):
    failure(users, sessions, username, password)


def test_failures_are_indistinguishable(users, sessions):
    unknown = failure(users, sessions, "mallory", "x")
    wrong = failure(users, sessions, "alice", "x")
    assert type(unknown) is type(wrong) is InvalidCredentials
    assert str(unknown) == str(wrong) == "invalid username or password"
    assert unknown.args == wrong.args
    for exc in (unknown, wrong):
        assert exc.__cause__ is None and exc.__context__ is None


@pytest.mark.parametrize("username, password", [("alice", "correct horse"), ("alice", "nope"),
                                                ("mallory", "nope")])
def test_compare_digest_is_called_exactly_once_on_32_byte_digests(users, sessions, digest_calls,
                                                                  username, password):
    try:
        login(users, sessions, username, password)
    except InvalidCredentials:
        pass
    assert len(digest_calls) == 1
    a, b = digest_calls[0]
    assert isinstance(a, bytes) and isinstance(b, bytes)
    assert len(a) == len(b) == 32


def test_compare_digest_result_alone_decides(users, sessions, monkeypatch):
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    failure(users, sessions, "alice", "correct horse")
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: True)
    token = login(users, sessions, "alice", "not the password")
    assert current_user(sessions, token) == "alice"


def test_unknown_user_fails_even_if_the_dummy_comparison_matches(users, sessions, monkeypatch):
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: True)
    failure(users, sessions, "mallory", "anything")
    assert len(sessions) == 0


def test_unknown_user_costs_the_same_hashing_as_a_wrong_password(users, sessions, monkeypatch):
    rounds = []
    real = hashlib.pbkdf2_hmac

    def counting(name, password, salt, iterations, *args, **kwargs):
        rounds.append(iterations)
        return real(name, password, salt, iterations, *args, **kwargs)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    failure(users, sessions, "alice", "wrong")
    wrong_password_rounds = list(rounds)
    rounds.clear()
    failure(users, sessions, "mallory", "wrong")
    assert wrong_password_rounds == rounds == [ITERATIONS]

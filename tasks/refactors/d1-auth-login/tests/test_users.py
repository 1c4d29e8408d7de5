"""Existing behaviour of password hashing and the user store; it must keep working."""
import pytest

from passwords import hash_password
from users import UserStore


def test_add_stores_a_salted_hash_not_the_password():
    store = UserStore(iterations=1000)
    user = store.add("alice", "correct horse")
    assert user.password_hash == hash_password("correct horse", user.salt, 1000)
    assert b"correct horse" not in user.password_hash
    assert len(user.password_hash) == 32 and len(user.salt) == 16
    assert store.get("alice") == user


def test_same_password_gets_different_salts_and_hashes():
    store = UserStore(iterations=1000)
    a, b = store.add("a", "pw"), store.add("b", "pw")
    assert a.salt != b.salt and a.password_hash != b.password_hash


def test_unknown_user_is_none_and_usernames_are_case_sensitive():
    store = UserStore(iterations=1000)
    store.add("alice", "pw")
    assert store.get("bob") is None
    assert store.get("Alice") is None


def test_duplicate_user_is_rejected():
    store = UserStore(iterations=1000)
    store.add("alice", "pw")
    with pytest.raises(ValueError):
        store.add("alice", "other")

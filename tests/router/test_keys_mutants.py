"""The .env file and the key store, unit by unit (benchmarks/mutation.py found the .env parsing
and the caching of a key read from it untested)."""
from __future__ import annotations

import os

from pytest_arena.router.keys import KeyStore, read_env_file


def test_no_env_file_or_a_missing_one_gives_no_keys(tmp_path):
    assert read_env_file(None) == {}
    assert read_env_file("") == {}
    assert read_env_file(tmp_path / "absent.env") == {}


def test_env_file_lines_comments_export_and_quotes(tmp_path):
    env = tmp_path / ".env"
    env.write_text("\n".join([
        "# a comment with A=1 in it",
        "",
        "   ",
        "not a key line",
        "PLAIN=abc",
        "export EXPORTED=def",
        "  SPACED  =  ghi  ",
        "DOUBLE=\"with spaces\"",
        "SINGLE='x=y'",
        "EMPTY_QUOTED=\"\"",
        "LONE_QUOTE=\"",
        "MISMATCHED='abc\"",
        "OPEN_ONLY='abc",
        "EMPTY=",
    ]))
    assert read_env_file(env) == {
        "PLAIN": "abc", "EXPORTED": "def", "SPACED": "ghi", "DOUBLE": "with spaces", "SINGLE": "x=y",
        "EMPTY_QUOTED": "", "LONE_QUOTE": "\"", "MISMATCHED": "'abc\"", "OPEN_ONLY": "'abc", "EMPTY": "",
    }


def test_a_key_is_none_when_neither_the_environment_nor_a_file_has_it(monkeypatch):
    monkeypatch.delenv("ARENA_TEST_NO_SUCH_KEY", raising=False)
    store = KeyStore()
    assert store.get("ARENA_TEST_NO_SUCH_KEY") is None
    assert not store.available("ARENA_TEST_NO_SUCH_KEY")


def test_an_empty_value_in_the_file_is_no_key(tmp_path, monkeypatch):
    monkeypatch.delenv("ARENA_TEST_KEY", raising=False)
    env = tmp_path / ".env"
    env.write_text("ARENA_TEST_KEY=\n")
    store = KeyStore()
    assert store.get("ARENA_TEST_KEY", env) is None
    assert not store.available("ARENA_TEST_KEY", env)


def test_a_key_read_from_the_file_is_held_after_the_file_is_gone(tmp_path, monkeypatch):
    monkeypatch.delenv("ARENA_TEST_KEY", raising=False)
    env = tmp_path / ".env"
    env.write_text("ARENA_TEST_KEY='sk-from-file'\n")
    store = KeyStore()
    assert store.available("ARENA_TEST_KEY", env)
    assert store.get("ARENA_TEST_KEY", env) == "sk-from-file"
    env.unlink()
    assert store.get("ARENA_TEST_KEY", env) == "sk-from-file"
    assert store.available("ARENA_TEST_KEY")
    assert "sk-from-file" not in repr(store) and "ARENA_TEST_KEY" not in repr(store)


def test_the_environment_wins_over_the_file_and_leaves_the_environment(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("ARENA_TEST_KEY=sk-file\n")
    monkeypatch.setenv("ARENA_TEST_KEY", "sk-env")
    store = KeyStore()
    assert store.available("ARENA_TEST_KEY", env)
    assert "ARENA_TEST_KEY" in os.environ  # available() only looks
    assert store.get("ARENA_TEST_KEY", env) == "sk-env"
    assert "ARENA_TEST_KEY" not in os.environ

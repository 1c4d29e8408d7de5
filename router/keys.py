"""Cloud API keys, held only in this process's memory.

A key is read once, when a run first needs the backend that uses it: from the environment, which
then forgets it (so no subprocess started later, an agent or a test run, inherits it), or from the
.env file. After that it lives only here and in the backend's request headers; it is never written
to a file, a log, a ledger record or an error message (backends scrub upstream text, see http.py).

One store per process: once a key has left ``os.environ``, every router in the process (tests
start many) must still find it.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path


def read_env_file(path: str | os.PathLike[str] | None) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (``export`` prefix, quotes and comments allowed)."""
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        return {}
    values = {}
    for line in p.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class KeyStore:
    """API keys by variable name. ``get`` takes a key out of the environment; ``available`` only looks."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyStore({len(self._keys)} key(s))"  # names and values stay out of reprs and tracebacks

    def get(self, name: str, env_file: str | os.PathLike[str] | None = None) -> str | None:
        """The key named ``name``: from the environment (newest; removed from it), else one read
        before, else the .env file. None when none of them has it."""
        with self._lock:
            fresh = os.environ.pop(name, None)
            if fresh:
                self._keys[name] = fresh
            key = self._keys.get(name)
            if key is None:
                key = read_env_file(env_file).get(name) or None
                if key is not None:
                    self._keys[name] = key
            return key

    def available(self, name: str, env_file: str | os.PathLike[str] | None = None) -> bool:
        """Whether ``get`` would find the key, without taking it out of the environment."""
        with self._lock:
            return bool(os.environ.get(name) or self._keys.get(name) or read_env_file(env_file).get(name))


KEYS = KeyStore()

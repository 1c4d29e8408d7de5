"""Robots with random, process-wide unique names of the form AA000."""
from __future__ import annotations

import random
import string


class Robot:
    _names_in_use: set[str] = set()

    def __init__(self, rng=None):
        self._rng = rng if rng is not None else random
        self._name: str | None = None

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = self._draw_free_name()
        return self._name

    def reset(self) -> None:
        old = self._name
        self._name = self._draw_free_name()
        if old is not None:
            Robot._names_in_use.discard(old)

    @classmethod
    def release_all_names(cls) -> None:
        cls._names_in_use.clear()

    def _draw_free_name(self) -> str:
        while True:
            letters = [self._rng.choice(string.ascii_uppercase) for _ in range(2)]
            digits = [self._rng.choice(string.digits) for _ in range(3)]
            candidate = "".join(letters + digits)
            if candidate not in Robot._names_in_use:
                Robot._names_in_use.add(candidate)
                return candidate

"""In-memory user storage."""
from __future__ import annotations

import itertools


class UserStore:
    def __init__(self) -> None:
        self._users: dict[int, dict] = {}
        self._ids = itertools.count(1)

    def add(self, name: str, age: int) -> dict:
        user = {"id": next(self._ids), "name": name, "age": age}
        self._users[user["id"]] = user
        return dict(user)

    def get(self, user_id: int) -> dict | None:
        user = self._users.get(user_id)
        return dict(user) if user else None

    def all(self) -> list[dict]:
        return [dict(user) for user in self._users.values()]

"""User records: username, salt and password hash. Passwords themselves are never stored."""
from __future__ import annotations

from dataclasses import dataclass

from passwords import hash_password, new_salt

DEFAULT_ITERATIONS = 200_000


@dataclass(frozen=True)
class User:
    username: str
    salt: bytes
    password_hash: bytes
    iterations: int


class UserStore:
    def __init__(self, iterations: int = DEFAULT_ITERATIONS) -> None:
        self.iterations = iterations
        self._users: dict[str, User] = {}

    def add(self, username: str, password: str) -> User:
        if username in self._users:
            raise ValueError(f"user {username!r} already exists")
        salt = new_salt()
        user = User(username, salt, hash_password(password, salt, self.iterations), self.iterations)
        self._users[username] = user
        return user

    def get(self, username: str) -> User | None:
        """The user, or None. Usernames are case-sensitive."""
        return self._users.get(username)

"""Session tokens issued at login."""
from __future__ import annotations


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, str] = {}

    def create(self, token: str, username: str) -> None:
        if token in self._sessions:
            raise ValueError("session token already in use")
        self._sessions[token] = username

    def username_for(self, token: str) -> str | None:
        return self._sessions.get(token)

    def revoke(self, token: str) -> bool:
        return self._sessions.pop(token, None) is not None

    def __len__(self) -> int:
        return len(self._sessions)

"""Route handlers: plain functions returning (HTTP status, JSON-serialisable payload)."""
from __future__ import annotations

import json

from store import UserStore


def create_user(store: UserStore, raw_body: bytes) -> tuple[int, dict]:
    try:
        body = json.loads(raw_body)
    except ValueError:
        return 400, {"error": "invalid JSON"}
    user = store.add(body["name"], body["age"])
    return 201, user


def list_users(store: UserStore) -> tuple[int, dict]:
    return 200, {"users": store.all()}


def get_user(store: UserStore, user_id: int) -> tuple[int, dict]:
    user = store.get(user_id)
    if user is None:
        return 404, {"error": "not found"}
    return 200, user

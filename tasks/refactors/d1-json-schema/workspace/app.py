"""WSGI application: routing, request bodies and JSON responses."""
from __future__ import annotations

import json
import re
from http import HTTPStatus

import handlers
from store import UserStore

_USER_PATH = re.compile(r"/users/(\d+)")


def _json_response(start_response, status: int, payload: dict) -> list[bytes]:
    body = json.dumps(payload).encode("utf-8")
    start_response(f"{status} {HTTPStatus(status).phrase}", [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    ])
    return [body]


def create_app(store: UserStore | None = None):
    """Build the WSGI application around ``store`` (a fresh one by default)."""
    store = UserStore() if store is None else store

    def app(environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            if path == "/users":
                if method == "POST":
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    status, payload = handlers.create_user(store, environ["wsgi.input"].read(length))
                elif method == "GET":
                    status, payload = handlers.list_users(store)
                else:
                    status, payload = 405, {"error": "method not allowed"}
            elif match := _USER_PATH.fullmatch(path):
                if method == "GET":
                    status, payload = handlers.get_user(store, int(match.group(1)))
                else:
                    status, payload = 405, {"error": "method not allowed"}
            else:
                status, payload = 404, {"error": "not found"}
        except Exception:  # a bug must not take the server down; the client gets a 500
            status, payload = 500, {"error": "internal error"}
        return _json_response(start_response, status, payload)

    return app

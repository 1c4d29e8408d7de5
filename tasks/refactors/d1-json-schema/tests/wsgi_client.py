"""Call a WSGI application in-process (no sockets) and decode its JSON response."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    json: Any


def call(app, method: str, path: str, body: bytes | Any = b"") -> Result:
    """``body`` is sent as is when it is bytes, else encoded as JSON."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(raw),
    }
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = dict(headers)

    payload = b"".join(app(environ, start_response))
    return Result(started["status"], started["headers"], json.loads(payload))

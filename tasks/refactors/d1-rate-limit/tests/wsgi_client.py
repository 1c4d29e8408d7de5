"""Call a WSGI application in-process (no sockets) and collect its response."""
from __future__ import annotations

import io
from dataclasses import dataclass
from wsgiref.util import setup_testing_defaults


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call(app, path: str, *, method: str = "GET", query: str = "", body: bytes = b"",
         remote_addr: str = "10.0.0.1", headers: dict[str, str] | None = None) -> Result:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REMOTE_ADDR": remote_addr,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = dict(response_headers)

    chunks = app(environ, start_response)
    try:
        payload = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return Result(started["status"], started["headers"], payload)

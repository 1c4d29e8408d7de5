"""The Response value every handler returns, and how it is sent over WSGI."""
from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, start_response) -> list[bytes]:
        """Start the WSGI response and return the body iterable."""
        headers = {"Content-Type": "text/plain; charset=utf-8", **self.headers}
        headers["Content-Length"] = str(len(self.body))
        start_response(f"{self.status} {HTTPStatus(self.status).phrase}", list(headers.items()))
        return [self.body]


def text(status: int, message: str, **headers: str) -> Response:
    """A plain-text response; keyword headers use underscores for dashes (Retry_After=...)."""
    return Response(status, message.encode("utf-8"),
                    {name.replace("_", "-"): value for name, value in headers.items()})

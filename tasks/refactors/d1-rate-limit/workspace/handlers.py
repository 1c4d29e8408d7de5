"""One function per route: environ in, Response out."""
from __future__ import annotations

from urllib.parse import parse_qs

from responses import Response, text


def health(environ) -> Response:
    return text(200, "ok\n")


def echo(environ) -> Response:
    method = environ["REQUEST_METHOD"]
    if method == "GET":
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if "msg" not in params:
            return text(400, "missing msg\n")
        return text(200, params["msg"][0])
    if method == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return Response(200, environ["wsgi.input"].read(length))
    return text(405, "method not allowed\n", Allow="GET, POST")

"""A router stand-in on a Unix socket: the host side of a sandbox's router link. Each GET is
answered ``router saw <path>``, so a test inside the box can tell the router (and the path the
forwarder kept) from anything else listening on the host."""
from __future__ import annotations

import http.server
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        body = f"router saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):  # type: ignore[no-untyped-def]
        conn, _ = super().get_request()
        return conn, ("local", 0)  # BaseHTTPRequestHandler wants a (host, port) pair


@contextmanager
def router_on_unix_socket(path: Path) -> Iterator[Path]:
    """Serve at ``path`` for the ``with`` block; the socket is closed after it."""
    server = _UnixHTTPServer(str(path), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()

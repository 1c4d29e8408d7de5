"""Serve the application with the standard library's WSGI server."""
from __future__ import annotations

from wsgiref.simple_server import make_server

import settings
from app import create_app


def main() -> None:
    with make_server(settings.HOST, settings.PORT, create_app()) as httpd:
        print(f"serving on http://{settings.HOST}:{settings.PORT}")
        httpd.serve_forever()


if __name__ == "__main__":
    main()

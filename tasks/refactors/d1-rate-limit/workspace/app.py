"""The WSGI application."""
from __future__ import annotations

import handlers
from responses import text

ROUTES = {
    "/health": handlers.health,
    "/echo": handlers.echo,
}


def route(environ, start_response):
    handler = ROUTES.get(environ.get("PATH_INFO", ""))
    response = handler(environ) if handler else text(404, "not found\n")
    return response.send(start_response)


def create_app():
    """Build the WSGI application the server runs."""
    return route

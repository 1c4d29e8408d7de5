"""The WSGI application."""
from __future__ import annotations

import handlers
import settings
from middleware import RateLimiter, RateLimitMiddleware
from responses import text

ROUTES = {
    "/health": handlers.health,
    "/echo": handlers.echo,
}


def route(environ, start_response):
    handler = ROUTES.get(environ.get("PATH_INFO", ""))
    response = handler(environ) if handler else text(404, "not found\n")
    return response.send(start_response)


def create_app(limiter: RateLimiter | None = None):
    """Build the WSGI application the server runs, rate limited per client."""
    if limiter is None:
        limiter = RateLimiter(settings.RATE_LIMIT_MAX_REQUESTS, settings.RATE_LIMIT_WINDOW_SECONDS)
    return RateLimitMiddleware(route, limiter, exempt_paths=settings.RATE_LIMIT_EXEMPT_PATHS)

"""Per-client sliding-window rate limiting as WSGI middleware."""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable

from responses import text


class RateLimiter:
    """At most ``max_requests`` recorded requests per client in any ``window_seconds`` window."""

    def __init__(self, max_requests: int, window_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not isinstance(max_requests, int) or max_requests < 1:
            raise ValueError(f"max_requests must be an int >= 1, got {max_requests!r}")
        if not window_seconds > 0:
            raise ValueError(f"window_seconds must be > 0, got {window_seconds!r}")
        self.max_requests = max_requests
        self.window_seconds = window_seconds
        self._clock = clock
        self._requests: dict[str, deque[float]] = {}

    def _live(self, ip: str, now: float) -> deque[float]:
        """The client's request times still inside the window ending now, oldest first."""
        times = self._requests.setdefault(ip, deque())
        while times and now >= times[0] + self.window_seconds:
            times.popleft()
        return times

    def is_limited(self, ip: str) -> bool:
        now = self._clock()
        times = self._live(ip, now)
        if len(times) >= self.max_requests:
            return True
        times.append(now)
        return False

    def retry_after(self, ip: str) -> int:
        now = self._clock()
        times = self._live(ip, now)
        if len(times) < self.max_requests:
            return 0
        return max(1, math.ceil(times[0] + self.window_seconds - now))


class RateLimitMiddleware:
    """Answers 429 for clients over their budget; exempt paths bypass the limiter entirely."""

    def __init__(self, app, limiter: RateLimiter, exempt_paths: Iterable[str] = ("/health",)) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt_paths = frozenset(exempt_paths)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "") in self.exempt_paths:
            return self.app(environ, start_response)
        ip = environ.get("REMOTE_ADDR", "")
        if self.limiter.is_limited(ip):
            response = text(429, "rate limit exceeded\n", Retry_After=str(self.limiter.retry_after(ip)))
            return response.send(start_response)
        return self.app(environ, start_response)

"""Acceptance tests for the sliding-window rate limiter and its wiring into the app."""
import importlib

import pytest

import settings
from app import create_app
from wsgi_client import call


@pytest.fixture
def mw():
    """middleware.py, imported per test so that a missing module fails each test on its own."""
    return importlib.import_module("middleware")


class FakeClock:
    """A clock the test moves by hand; nothing may depend on real time passing."""

    def __init__(self, start=10_000.0):
        self.now = start

    def __call__(self):
        return self.now


def test_allows_max_requests_then_limits(mw):
    limiter = mw.RateLimiter(3, 60, clock=FakeClock())
    assert [limiter.is_limited("1.2.3.4") for _ in range(5)] == [False, False, False, True, True]


def test_request_stops_counting_exactly_at_window_end(mw):
    clock = FakeClock()
    limiter = mw.RateLimiter(1, 10, clock=clock)
    assert limiter.is_limited("a") is False
    clock.now += 9.999
    assert limiter.is_limited("a") is True
    clock.now += 0.001
    assert limiter.is_limited("a") is False


def test_window_slides_instead_of_resetting_in_fixed_buckets(mw):
    clock = FakeClock(0.0)
    limiter = mw.RateLimiter(2, 10, clock=clock)
    outcomes = []
    for t in (0, 6, 9, 10, 11, 16):
        clock.now = float(t)
        outcomes.append(limiter.is_limited("a"))
    # t=10: the t=0 request expired; t=11: t=6 and t=10 still count; t=16: t=6 expired.
    assert outcomes == [False, False, True, False, True, False]


def test_rejected_requests_do_not_count(mw):
    clock = FakeClock()
    limiter = mw.RateLimiter(1, 10, clock=clock)
    assert limiter.is_limited("a") is False
    clock.now += 5
    assert limiter.is_limited("a") is True
    clock.now += 5
    assert limiter.is_limited("a") is False


def test_clients_are_limited_independently(mw):
    limiter = mw.RateLimiter(1, 60, clock=FakeClock())
    assert limiter.is_limited("a") is False
    assert limiter.is_limited("a") is True
    assert limiter.is_limited("b") is False


@pytest.mark.parametrize("max_requests, window", [(0, 60), (-1, 60), (5, 0), (5, -1)])
def test_invalid_limits_are_rejected(mw, max_requests, window):
    with pytest.raises(ValueError):
        mw.RateLimiter(max_requests, window, clock=FakeClock())


def test_retry_after_counts_whole_seconds_up_to_the_oldest_expiry(mw):
    clock = FakeClock(0.0)
    limiter = mw.RateLimiter(2, 60, clock=clock)
    assert limiter.retry_after("a") == 0
    limiter.is_limited("a")
    clock.now = 15.0
    limiter.is_limited("a")
    assert limiter.is_limited("a") is True
    assert limiter.retry_after("a") == 45
    clock.now = 44.5
    assert limiter.retry_after("a") == 16
    clock.now = 60.0
    assert limiter.retry_after("a") == 0
    assert limiter.is_limited("a") is False  # retry_after itself recorded nothing


def test_echo_answers_429_past_the_limit(mw):
    clock = FakeClock(0.0)
    app = create_app(mw.RateLimiter(2, 30, clock=clock))
    ok = [call(app, "/echo", query=f"msg=m{i}") for i in range(2)]
    assert [(r.status, r.text) for r in ok] == [(200, "m0"), (200, "m1")]
    clock.now = 12.2
    limited = call(app, "/echo", query="msg=m2")
    assert limited.status == 429
    assert limited.text == "rate limit exceeded\n"
    assert limited.headers["Retry-After"] == "18"
    assert limited.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert limited.headers["Content-Length"] == str(len(limited.body))
    clock.now = 30.0
    assert call(app, "/echo", query="msg=back").text == "back"


def test_health_is_exempt_and_does_not_use_up_the_budget(mw):
    app = create_app(mw.RateLimiter(2, 60, clock=FakeClock()))
    for _ in range(20):
        assert call(app, "/health").status == 200
    assert [call(app, "/echo", query="msg=x").status for _ in range(3)] == [200, 200, 429]
    health = call(app, "/health")
    assert (health.status, health.text) == (200, "ok\n")


def test_forwarded_for_header_cannot_dodge_the_limit(mw):
    app = create_app(mw.RateLimiter(1, 60, clock=FakeClock()))
    assert call(app, "/echo", query="msg=x", remote_addr="10.0.0.9").status == 200
    spoofed = call(app, "/echo", query="msg=x", remote_addr="10.0.0.9",
                   headers={"X-Forwarded-For": "203.0.113.7"})
    assert spoofed.status == 429
    assert call(app, "/echo", query="msg=x", remote_addr="10.0.0.10").status == 200


def test_limited_requests_never_reach_the_wrapped_app(mw):
    seen = []

    def inner(environ, start_response):
        seen.append(environ["PATH_INFO"])
        start_response("204 No Content", [])
        return [b""]

    app = mw.RateLimitMiddleware(inner, mw.RateLimiter(1, 60, clock=FakeClock()))
    assert [call(app, "/work").status for _ in range(3)] == [204, 429, 429]
    assert call(app, "/health").status == 204
    assert seen == ["/work", "/health"]


def test_custom_exempt_paths(mw):
    app = mw.RateLimitMiddleware(create_app(mw.RateLimiter(100, 1, clock=FakeClock())),
                              mw.RateLimiter(1, 60, clock=FakeClock()), exempt_paths=["/echo"])
    assert [call(app, "/echo", query="msg=x").status for _ in range(3)] == [200, 200, 200]
    assert [call(app, "/health").status for _ in range(2)] == [200, 429]


def test_other_paths_count_and_keep_their_own_answers(mw):
    app = create_app(mw.RateLimiter(2, 60, clock=FakeClock()))
    assert call(app, "/nope").status == 404
    assert call(app, "/echo", method="DELETE").status == 405
    assert call(app, "/echo", query="msg=x").status == 429


def test_create_app_without_limiter_uses_settings_read_at_call_time(mw, monkeypatch):
    monkeypatch.setattr(settings, "RATE_LIMIT_MAX_REQUESTS", 3)
    monkeypatch.setattr(settings, "RATE_LIMIT_WINDOW_SECONDS", 3600.0)
    app = create_app()
    statuses = [call(app, "/echo", query="msg=x").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert call(app, "/health").status == 200

"""Acceptance tests for bucket.py: per-key token buckets refilled on an injected clock."""
import inspect
import time

import pytest

from bucket import TokenBucket


class FakeClock:
    """A clock the test moves by hand; the limiter must never need real time to pass."""

    def __init__(self, start=500.0):
        self.now = start

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


def test_new_key_starts_full(clock):
    bucket = TokenBucket(5, 1, clock=clock)
    assert bucket.available("ip-1") == pytest.approx(5)


def test_allows_exactly_capacity_requests_in_a_burst(clock):
    bucket = TokenBucket(3, 1, clock=clock)
    assert [bucket.allow("a") for _ in range(5)] == [True, True, True, False, False]
    assert bucket.available("a") == pytest.approx(0)


def test_allow_returns_real_bools(clock):
    bucket = TokenBucket(1, 1, clock=clock)
    assert bucket.allow("a") is True
    assert bucket.allow("a") is False


def test_denied_request_consumes_nothing(clock):
    bucket = TokenBucket(4, 1, clock=clock)
    assert bucket.allow("a", cost=3) is True
    assert bucket.allow("a", cost=2) is False
    assert bucket.available("a") == pytest.approx(1)
    assert bucket.allow("a", cost=1) is True


def test_keys_are_independent(clock):
    bucket = TokenBucket(2, 1, clock=clock)
    bucket.allow("a")
    bucket.allow("a")
    assert bucket.allow("a") is False
    assert bucket.allow("b") is True
    assert bucket.available("b") == pytest.approx(1)
    assert bucket.available("a") == pytest.approx(0)


def test_refills_continuously_at_the_rate(clock):
    bucket = TokenBucket(10, 2, clock=clock)
    for _ in range(10):
        bucket.allow("a")
    clock.now += 0.25
    assert bucket.available("a") == pytest.approx(0.5)
    clock.now += 1.25
    assert bucket.available("a") == pytest.approx(3)
    assert bucket.allow("a", cost=3) is True
    assert bucket.allow("a", cost=0.5) is False


def test_refill_is_capped_at_capacity(clock):
    bucket = TokenBucket(3, 5, clock=clock)
    bucket.allow("a", cost=3)
    clock.now += 3600
    assert bucket.available("a") == pytest.approx(3)
    assert [bucket.allow("a") for _ in range(4)] == [True, True, True, False]


def test_available_never_consumes(clock):
    bucket = TokenBucket(2, 0, clock=clock)
    for _ in range(5):
        assert bucket.available("a") == pytest.approx(2)
    assert bucket.allow("a", cost=2) is True


def test_fractional_costs_and_capacity(clock):
    bucket = TokenBucket(2.5, 0.5, clock=clock)
    assert bucket.allow("a", cost=1.5) is True
    assert bucket.allow("a", cost=1.5) is False
    clock.now += 1
    assert bucket.available("a") == pytest.approx(1.5)
    assert bucket.allow("a", cost=1.5) is True


def test_cost_above_capacity_is_never_allowed_and_consumes_nothing(clock):
    bucket = TokenBucket(3, 1, clock=clock)
    assert bucket.allow("a", cost=4) is False
    assert bucket.available("a") == pytest.approx(3)


@pytest.mark.parametrize("cost", [0, -1, -0.5])
def test_non_positive_cost_is_rejected(clock, cost):
    bucket = TokenBucket(3, 1, clock=clock)
    with pytest.raises(ValueError):
        bucket.allow("a", cost=cost)
    assert bucket.available("a") == pytest.approx(3)


@pytest.mark.parametrize("capacity, rate", [(0, 1), (-1, 1), (5, -0.1)])
def test_invalid_construction_is_rejected(capacity, rate):
    with pytest.raises(ValueError):
        TokenBucket(capacity, rate)


def test_zero_refill_rate_never_refills(clock):
    bucket = TokenBucket(1, 0, clock=clock)
    assert bucket.allow("a") is True
    clock.now += 10**6
    assert bucket.allow("a") is False


def test_clock_going_backwards_changes_nothing_and_time_is_not_counted_twice(clock):
    bucket = TokenBucket(10, 1, clock=clock)
    for _ in range(10):
        bucket.allow("a")
    clock.now -= 50
    assert bucket.available("a") == pytest.approx(0)
    assert bucket.allow("a") is False
    clock.now += 51  # one second after the latest time seen
    assert bucket.available("a") == pytest.approx(1)


def test_float_rounding_never_refuses_an_exactly_refilled_token(clock):
    bucket = TokenBucket(1, 0.1, clock=clock)
    assert bucket.allow("a") is True
    for _ in range(10):
        clock.now += 1
        bucket.available("a")  # refills 0.1 at a time: 0.1 * 10 is not exactly 1.0 in floats
    assert bucket.allow("a") is True


def test_steady_rate_lets_through_one_request_per_refill_interval(clock):
    bucket = TokenBucket(1, 2, clock=clock)
    results = []
    for _ in range(8):
        results.append(bucket.allow("a"))
        clock.now += 0.25
    assert results == [True, False, True, False, True, False, True, False]


def test_reset_one_key_refills_only_that_key(clock):
    bucket = TokenBucket(2, 0, clock=clock)
    for key in ("a", "b"):
        bucket.allow(key, cost=2)
    bucket.reset("a")
    assert bucket.available("a") == pytest.approx(2)
    assert bucket.available("b") == pytest.approx(0)
    bucket.reset("never-seen")  # resetting an unknown key is fine
    assert bucket.available("never-seen") == pytest.approx(2)


def test_reset_without_key_refills_every_bucket(clock):
    bucket = TokenBucket(2, 0, clock=clock)
    for key in ("a", "b", "c"):
        bucket.allow(key, cost=2)
    bucket.reset()
    assert [bucket.available(k) for k in ("a", "b", "c")] == [pytest.approx(2)] * 3


def test_default_clock_is_time_monotonic():
    assert inspect.signature(TokenBucket).parameters["clock"].default is time.monotonic
    bucket = TokenBucket(2, 1)
    assert bucket.allow("a") is True

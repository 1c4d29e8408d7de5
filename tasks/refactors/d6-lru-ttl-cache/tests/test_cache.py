"""Acceptance tests for cache.py: LRU order, TTL expiry on an injected clock, counters."""
import inspect
import time

import pytest

from cache import CacheInfo, LRUTTLCache


class FakeClock:
    """A clock the test moves by hand; the cache must never need real time to pass."""

    def __init__(self, start=1000.0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def test_set_then_get_returns_value(clock):
    cache = LRUTTLCache(3, clock=clock)
    cache.set("a", 1)
    assert cache.get("a") == 1


def test_missing_key_returns_default(clock):
    cache = LRUTTLCache(3, clock=clock)
    assert cache.get("nope") is None
    assert cache.get("nope", "fallback") == "fallback"


def test_none_is_a_storable_value(clock):
    cache = LRUTTLCache(3, clock=clock)
    cache.set("k", None)
    assert cache.get("k", "fallback") is None
    assert cache.cache_info().hits == 1
    assert "k" in cache


def test_replacing_a_value_keeps_size_and_never_evicts(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("a", 10)
    assert len(cache) == 2
    assert cache.get("a") == 10 and cache.get("b") == 2
    assert cache.cache_info().evictions == 0


def test_full_cache_evicts_least_recently_used(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("c", 3)
    assert "a" not in cache
    assert cache.keys() == ["b", "c"]
    assert cache.cache_info().evictions == 1


def test_get_refreshes_recency(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.get("a")
    cache.set("c", 3)
    assert cache.keys() == ["a", "c"]


def test_set_on_existing_key_refreshes_recency(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("a", 1)
    cache.set("c", 3)
    assert cache.keys() == ["a", "c"]


def test_peek_changes_neither_recency_nor_counters(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.peek("a") == 1
    assert cache.peek("zzz", "d") == "d"
    cache.set("c", 3)
    assert cache.keys() == ["b", "c"]
    info = cache.cache_info()
    assert (info.hits, info.misses) == (0, 0)


def test_contains_changes_neither_recency_nor_counters(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    assert "a" in cache and "x" not in cache
    cache.set("c", 3)
    assert cache.keys() == ["b", "c"]
    assert cache.cache_info()[:2] == (0, 0)


def test_maxsize_one(clock):
    cache = LRUTTLCache(1, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.keys() == ["b"]
    assert cache.get("a") is None


@pytest.mark.parametrize("maxsize", [0, -1])
def test_invalid_maxsize_rejected(maxsize):
    with pytest.raises(ValueError):
        LRUTTLCache(maxsize)


@pytest.mark.parametrize("ttl", [0, -5, -0.1])
def test_invalid_ttl_rejected_for_cache_and_entry(clock, ttl):
    with pytest.raises(ValueError):
        LRUTTLCache(2, ttl=ttl, clock=clock)
    cache = LRUTTLCache(2, clock=clock)
    with pytest.raises(ValueError):
        cache.set("a", 1, ttl=ttl)
    assert len(cache) == 0


def test_entry_expires_exactly_at_ttl(clock):
    cache = LRUTTLCache(3, ttl=10, clock=clock)
    cache.set("a", 1)
    clock.advance(9.999)
    assert cache.get("a") == 1
    clock.advance(0.001)
    assert cache.get("a") is None


def test_expired_get_counts_a_miss_and_an_expiration(clock):
    cache = LRUTTLCache(3, ttl=5, clock=clock)
    cache.set("a", 1)
    clock.advance(5)
    assert cache.get("a", "gone") == "gone"
    info = cache.cache_info()
    assert (info.hits, info.misses, info.expirations, info.currsize) == (0, 1, 1, 0)


def test_setting_again_restarts_the_lifetime(clock):
    cache = LRUTTLCache(3, ttl=10, clock=clock)
    cache.set("a", 1)
    clock.advance(8)
    cache.set("a", 2)
    clock.advance(8)
    assert cache.get("a") == 2
    clock.advance(2)
    assert "a" not in cache


def test_per_entry_ttl_overrides_default(clock):
    cache = LRUTTLCache(3, ttl=10, clock=clock)
    cache.set("short", 1, ttl=2)
    cache.set("long", 2, ttl=100)
    cache.set("default", 3)
    clock.advance(2)
    assert cache.keys() == ["long", "default"]
    clock.advance(8)
    assert cache.keys() == ["long"]
    clock.advance(89.5)
    assert cache.get("long") == 2


def test_without_default_ttl_entries_live_forever_unless_given_one(clock):
    cache = LRUTTLCache(3, clock=clock)
    cache.set("forever", 1)
    cache.set("brief", 2, ttl=1)
    clock.advance(10**9)
    assert cache.keys() == ["forever"]


def test_frozen_clock_never_expires(clock):
    cache = LRUTTLCache(3, ttl=0.5, clock=clock)
    cache.set("a", 1)
    for _ in range(5):
        assert cache.get("a") == 1


def test_expired_entries_are_purged_before_evicting(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("old", 1, ttl=1)
    cache.set("keep", 2)
    clock.advance(1)
    cache.set("new", 3)
    assert cache.keys() == ["keep", "new"]
    info = cache.cache_info()
    assert (info.evictions, info.expirations) == (0, 1)


def test_expired_least_recent_entry_is_not_what_gets_counted_as_eviction(clock):
    cache = LRUTTLCache(2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2, ttl=3)
    cache.get("a")  # "b" is now least recently used, and it will expire
    clock.advance(3)
    cache.set("c", 3)
    cache.set("d", 4)  # now full with live entries: "a" is evicted
    assert cache.keys() == ["c", "d"]
    info = cache.cache_info()
    assert (info.evictions, info.expirations) == (1, 1)


def test_len_and_keys_skip_expired_entries(clock):
    cache = LRUTTLCache(5, ttl=10, clock=clock)
    cache.set("a", 1)
    clock.advance(5)
    cache.set("b", 2)
    cache.set("c", 3)
    assert len(cache) == 3
    clock.advance(5)
    assert len(cache) == 2
    assert cache.keys() == ["b", "c"]


def test_delete_reports_whether_a_live_entry_was_removed(clock):
    cache = LRUTTLCache(3, ttl=4, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    clock.advance(4)
    assert cache.delete("b") is False
    info = cache.cache_info()
    assert (info.hits, info.misses, info.evictions) == (0, 0, 0)


def test_pop_returns_value_or_default_or_raises(clock):
    cache = LRUTTLCache(3, ttl=4, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.pop("a") == 1
    assert "a" not in cache
    assert cache.pop("a", "dflt") == "dflt"
    assert cache.pop("a", None) is None
    with pytest.raises(KeyError):
        cache.pop("a")
    clock.advance(4)
    with pytest.raises(KeyError):
        cache.pop("b")


def test_clear_removes_entries_and_resets_counters(clock):
    cache = LRUTTLCache(1, clock=clock)
    cache.set("a", 1)
    cache.get("a")
    cache.get("x")
    cache.set("b", 2)
    cache.clear()
    assert len(cache) == 0
    assert cache.cache_info() == CacheInfo(0, 0, 0, 0, 1, 0)


def test_cache_info_is_a_namedtuple_with_fields_in_order(clock):
    assert CacheInfo._fields == ("hits", "misses", "evictions", "expirations", "maxsize", "currsize")
    cache = LRUTTLCache(2, ttl=10, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.get("a")
    cache.get("a")
    cache.get("zz")
    cache.set("c", 3)  # evicts b
    clock.advance(10)  # a and c expire
    cache.set("d", 4)
    assert cache.cache_info() == CacheInfo(hits=2, misses=1, evictions=1, expirations=2,
                                           maxsize=2, currsize=1)


def test_counts_accumulate_over_many_operations(clock):
    cache = LRUTTLCache(3, clock=clock)
    for i in range(10):
        cache.set(i, i * i)
    for i in range(10):
        cache.get(i)
    info = cache.cache_info()
    assert (info.hits, info.misses, info.evictions, info.currsize) == (3, 7, 7, 3)
    assert cache.keys() == [7, 8, 9]


def test_unhashable_key_raises_type_error(clock):
    cache = LRUTTLCache(3, clock=clock)
    with pytest.raises(TypeError):
        cache.set(["list"], 1)
    with pytest.raises(TypeError):
        cache.get({"dict": 1})


def test_default_clock_is_time_monotonic():
    assert inspect.signature(LRUTTLCache).parameters["clock"].default is time.monotonic
    cache = LRUTTLCache(2, ttl=3600)
    cache.set("a", 1)
    assert cache.get("a") == 1

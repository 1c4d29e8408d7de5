"""An LRU cache whose entries expire after a time-to-live."""
from __future__ import annotations

import time
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Hashable
from typing import Any

CacheInfo = namedtuple("CacheInfo", "hits misses evictions expirations maxsize currsize")

_MISSING = object()


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be a number of seconds > 0 or None, got {ttl!r}")


class LRUTTLCache:
    def __init__(
        self,
        maxsize: int,
        ttl: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be an int >= 1, got {maxsize!r}")
        _check_ttl(ttl)
        self.maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        # key -> (value, expires_at or None); order is least to most recently used.
        self._entries: OrderedDict[Hashable, tuple[Any, float | None]] = OrderedDict()
        self._hits = self._misses = self._evictions = self._expirations = 0

    def _purge_expired(self) -> None:
        now = self._clock()
        expired = [k for k, (_, expires_at) in self._entries.items()
                   if expires_at is not None and now >= expires_at]
        for key in expired:
            del self._entries[key]
        self._expirations += len(expired)

    def get(self, key: Hashable, default: Any = None) -> Any:
        hash(key)
        self._purge_expired()
        entry = self._entries.get(key, _MISSING)
        if entry is _MISSING:
            self._misses += 1
            return default
        self._entries.move_to_end(key)
        self._hits += 1
        return entry[0]

    def set(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        hash(key)
        _check_ttl(ttl)
        self._purge_expired()
        lifetime = self.ttl if ttl is None else ttl
        expires_at = None if lifetime is None else self._clock() + lifetime
        if key not in self._entries and len(self._entries) >= self.maxsize:
            self._entries.popitem(last=False)
            self._evictions += 1
        self._entries[key] = (value, expires_at)
        self._entries.move_to_end(key)

    def peek(self, key: Hashable, default: Any = None) -> Any:
        hash(key)
        self._purge_expired()
        entry = self._entries.get(key, _MISSING)
        return default if entry is _MISSING else entry[0]

    def pop(self, key: Hashable, *default: Any) -> Any:
        if len(default) > 1:
            raise TypeError(f"pop expected at most 2 arguments, got {1 + len(default)}")
        hash(key)
        self._purge_expired()
        if key in self._entries:
            return self._entries.pop(key)[0]
        if default:
            return default[0]
        raise KeyError(key)

    def delete(self, key: Hashable) -> bool:
        hash(key)
        self._purge_expired()
        return self._entries.pop(key, _MISSING) is not _MISSING

    def __contains__(self, key: object) -> bool:
        hash(key)
        self._purge_expired()
        return key in self._entries

    def __len__(self) -> int:
        self._purge_expired()
        return len(self._entries)

    def keys(self) -> list[Hashable]:
        self._purge_expired()
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._hits = self._misses = self._evictions = self._expirations = 0

    def cache_info(self) -> CacheInfo:
        self._purge_expired()
        return CacheInfo(self._hits, self._misses, self._evictions, self._expirations,
                         self.maxsize, len(self._entries))

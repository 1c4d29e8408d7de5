"""An LRU cache whose entries expire after a time-to-live."""
from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Callable, Hashable
from typing import Any

CacheInfo = namedtuple("CacheInfo", "hits misses evictions expirations maxsize currsize")


class LRUTTLCache:
    def __init__(
        self,
        maxsize: int,
        ttl: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        raise NotImplementedError

    def get(self, key: Hashable, default: Any = None) -> Any:
        raise NotImplementedError

    def set(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        raise NotImplementedError

    def peek(self, key: Hashable, default: Any = None) -> Any:
        raise NotImplementedError

    def pop(self, key: Hashable, *default: Any) -> Any:
        raise NotImplementedError

    def delete(self, key: Hashable) -> bool:
        raise NotImplementedError

    def __contains__(self, key: object) -> bool:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def keys(self) -> list[Hashable]:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def cache_info(self) -> CacheInfo:
        raise NotImplementedError

"""A multi-key token-bucket rate limiter."""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable

# Token counts within this distance of a cost are treated as equal (float rounding).
_TOLERANCE = 1e-9


class TokenBucket:
    def __init__(
        self,
        capacity: float,
        refill_rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not capacity > 0:
            raise ValueError(f"capacity must be > 0, got {capacity!r}")
        if not refill_rate >= 0:
            raise ValueError(f"refill_rate must be >= 0, got {refill_rate!r}")
        self.capacity = capacity
        self.refill_rate = refill_rate
        self._clock = clock
        # key -> [tokens, time of the latest refill]
        self._buckets: dict[Hashable, list[float]] = {}

    def _refilled(self, key: Hashable) -> list[float]:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [float(self.capacity), now]
        elif now > bucket[1]:
            bucket[0] = min(self.capacity, bucket[0] + (now - bucket[1]) * self.refill_rate)
            bucket[1] = now
        return bucket

    def allow(self, key: Hashable, cost: float = 1) -> bool:
        if not cost > 0:
            raise ValueError(f"cost must be > 0, got {cost!r}")
        bucket = self._refilled(key)
        if cost > self.capacity or bucket[0] + _TOLERANCE < cost:
            return False
        bucket[0] = max(0.0, bucket[0] - cost)
        return True

    def available(self, key: Hashable) -> float:
        return self._refilled(key)[0]

    def reset(self, key: Hashable | None = None) -> None:
        if key is None:
            self._buckets.clear()
        else:
            self._buckets.pop(key, None)

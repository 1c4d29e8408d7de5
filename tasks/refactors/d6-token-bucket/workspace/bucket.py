"""A multi-key token-bucket rate limiter."""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class TokenBucket:
    def __init__(
        self,
        capacity: float,
        refill_rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        raise NotImplementedError

    def allow(self, key: Hashable, cost: float = 1) -> bool:
        raise NotImplementedError

    def available(self, key: Hashable) -> float:
        raise NotImplementedError

    def reset(self, key: Hashable | None = None) -> None:
        raise NotImplementedError

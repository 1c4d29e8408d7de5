"""Retry a function on chosen exceptions, with exponential backoff."""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def retry(
    *,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    max_attempts: int,
    base_delay: float,
    sleep: Callable[[float], None] | None = None,
) -> Callable[[F], F]:
    """Call the decorated function up to ``max_attempts`` times while it raises ``retry_on``.

    After failed attempt n it waits ``base_delay * 2 ** (n - 1)`` seconds; the last failure is
    re-raised unchanged.
    """
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ValueError(f"max_attempts must be an int >= 1, got {max_attempts!r}")
    if not base_delay >= 0:
        raise ValueError(f"base_delay must be >= 0 seconds, got {base_delay!r}")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(1, max_attempts + 1):
                try:
                    return func(*args, **kwargs)
                except retry_on:
                    if attempt == max_attempts:
                        raise
                # time.sleep is looked up per wait so tests can replace it.
                wait = time.sleep if sleep is None else sleep
                wait(base_delay * 2 ** (attempt - 1))
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper  # type: ignore[return-value]

    return decorate

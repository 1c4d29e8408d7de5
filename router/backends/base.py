"""The backend contract: a backend turns one CanonicalRequest into a stream of canonical events.

Streaming and non-streaming front doors both consume ``Backend.stream``; non-streaming ones
aggregate the events into a CanonicalResponse. Errors are raised as ``pytest_arena.router.errors`` exceptions.
"""
from __future__ import annotations

import abc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pytest_arena.router.contracts import BackendSpec, CanonicalRequest, Event, LocalGuards, RunSpec, Side


@dataclass(slots=True)
class CallContext:
    run: RunSpec
    side: Side
    guards: LocalGuards | None  # set for local calls only
    started: float  # time.monotonic() when the call got its backend slot (when it arrived, without a limit)

    @property
    def deadline(self) -> float | None:
        if self.guards is None or self.guards.wall_timeout_s is None:
            return None
        return self.started + self.guards.wall_timeout_s

    def remaining(self) -> float | None:
        d = self.deadline
        return None if d is None else max(0.0, d - time.monotonic())


class Backend(abc.ABC):
    def __init__(self, spec: BackendSpec):
        self.spec = spec

    @abc.abstractmethod
    def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        """Yield TextDelta / ToolCallDelta events, then Usage, then exactly one Finish. A Usage may
        also come mid-stream (running counts, when the upstream sends them); the last one wins."""

    async def batches(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[list[Event]]:
        """``stream``'s events in the groups they arrived in (one read of the upstream's socket):
        the call pipeline meters and the front door writes each group in one go. By default one
        event a group; the HTTP streaming backends group by read."""
        async for ev in self.stream(req, call):
            yield [ev]

    def prepare(self) -> None:
        """Load what calls need before the first one (an API key); raises ConfigError. Called when
        a run whose strategy can route here registers, so a run that never can needs nothing."""

    async def embed(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError(f"backend {self.spec.label} has no embedding endpoint")

    async def aclose(self) -> None:
        return None

"""One registered run's state: its spec and endpoints, the backends it routes to, its strategy's
context, its token, and the counters its calls move (sequence, in flight, spent). The run registry
(runs.py) makes one per ``register``; calls (call.py, own_calls.py) read and update it.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pytest_arena.router.backends.base import Backend
from pytest_arena.router.contracts import RunEndpoints, RunSpec
from pytest_arena.router.strategies.base import StrategyContext
from pytest_arena.router.transcript import Transcript

__all__ = ["RunState"]


@dataclass(slots=True, eq=False)
class RunState:
    spec: RunSpec
    endpoints: RunEndpoints
    local: Backend
    cloud: Backend
    classifier: Backend | None
    embedder: Backend | None
    strategy_ctx: StrategyContext
    token: bytes | None  # what a call must present (RunEndpoints.api_key); None: any caller
    seq: int = 0
    inflight: int = 0
    admitting: int = 0  # requests admitted whose body is being read and parsed (not yet calls)
    spent_usd: float = 0.0
    cloud_inflight: int = 0  # admitted cloud agent calls not yet recorded
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    transcript: Transcript | None = None  # when the spec asks for one (RunSpec.transcript_path)

    def next_seq(self) -> int:
        seq = self.seq
        self.seq += 1
        return seq

    def secrets(self) -> list[str]:
        """What a transcript must never hold: the run's token and every API key its backends hold."""
        held = [self.endpoints.api_key]
        for backend in (self.local, self.cloud, self.classifier, self.embedder):
            key = getattr(backend, "api_key", None)  # HTTP backends, once prepared (router/backends/http.py)
            if key:
                held.append(key)
        return [s for s in held if s]

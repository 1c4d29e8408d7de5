"""One agent call through the router: decide a side, admit it under the budget, wait for the
backend's slot, stream its answer under the local guards (wall time, output cap), and record
exactly one ledger record whatever happens. The front door (app.py) makes one per routed request.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from time import perf_counter
from typing import cast

from pytest_arena.router import strategies
from pytest_arena.router.backends.base import Backend, CallContext
from pytest_arena.router.canonical import estimate_prompt_tokens
from pytest_arena.router.contracts import CallStatus, CanonicalRequest, Event, Finish, LedgerRecord, Side, Usage
from pytest_arena.router.core import RouterCore
from pytest_arena.router.errors import (
    LocalTimeoutError,
    RouterError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamProtocolError,
)
from pytest_arena.router.meter import OutputMeter
from pytest_arena.router.run_state import RunState

__all__ = ["RoutedCall"]

_log = logging.getLogger(__name__)


async def _close_quietly(stream: AsyncIterator[list[Event]]) -> None:
    """Close a backend's event stream (its upstream connection); a failure closing changes nothing
    about the answer already given."""
    try:
        # A backend's batches() is an async generator; an iterator without aclose fails here, ignored too.
        await cast(AsyncGenerator[list[Event], None], stream).aclose()
    except Exception:
        pass


class RoutedCall:
    """One agent call. ``await start()`` decides and waits for the first backend events (so errors
    before any output become proper HTTP errors); ``batches()`` then yields all events in the
    groups the upstream sent them in (a streaming front door writes each group at once), and
    ``events()`` the same events one by one. The ledger record is written exactly once, when the
    pipeline ends for any reason."""

    __slots__ = ("core", "run", "req", "arrived", "seq", "side", "backend", "admitted", "on_decided", "_gen",
                 "_first")

    def __init__(self, core: RouterCore, run: RunState, req: CanonicalRequest, arrived: float):
        if req.seed is None and run.spec.seed is not None:
            # The cell's seed reaches every backend that takes one (OpenAI-compatible, Ollama);
            # a sampling parameter, not text: nothing the model reads changes.
            req.seed = run.spec.seed
        self.core = core
        self.run = run
        self.req = req
        self.arrived = arrived
        self.seq = run.next_seq()  # arrival order, before any classifier call this call causes
        self.side: Side | None = None
        self.backend: Backend | None = None
        self.admitted = False  # holds a cloud budget admission until recorded
        # Called with the call once side and backend are chosen (the front door watches local calls
        # for a client disconnect); set before start().
        self.on_decided: Callable[[RoutedCall], None] | None = None
        run.inflight += 1
        run.idle.clear()
        self._gen = self._pipeline()
        self._first: list[Event] = []

    async def start(self) -> None:
        self._first = await self._gen.__anext__()

    async def batches(self) -> AsyncGenerator[list[Event], None]:
        yield self._first
        async for batch in self._gen:
            yield batch

    async def events(self) -> AsyncIterator[Event]:
        for ev in self._first:
            yield ev
        async for batch in self._gen:
            for ev in batch:
                yield ev

    async def aclose(self) -> None:
        await self._gen.aclose()

    def headers(self) -> dict[str, str]:
        spec = self.run.spec
        return {"X-Arena-Run": spec.run_id, "X-Arena-Strategy": spec.strategy, "X-Arena-Choice": self.side or "",
                "X-Arena-Backend": self.backend.spec.label if self.backend is not None else ""}

    async def _pipeline(self) -> AsyncGenerator[list[Event], None]:
        core, run, req = self.core, self.run, self.req
        spec = run.spec
        ts = time.time()
        status: CallStatus = "ok"
        error: str | None = None
        usage: Usage | None = None
        finish: Finish | None = None
        meter = OutputMeter() if run.transcript is None else run.transcript.meter()
        decide_s = upstream_s = 0.0
        reason = ""
        model = ""
        limit = None
        acquired = capped = False
        stream: AsyncIterator[list[Event]] | None = None
        deadline: float | None = None
        cap: int | None = None  # the local output cap this call is held to
        try:
            t = perf_counter()
            decision = await strategies.decide(spec.strategy, req, run.strategy_ctx)
            decide_s = perf_counter() - t
            self.side, reason = decision.choice, decision.reason
            self.backend = backend = run.local if decision.choice == "local" else run.cloud
            model = backend.spec.model
            if self.on_decided is not None:
                self.on_decided(self)
            guards = None
            if decision.choice == "cloud":
                if core.fatal_error is not None:
                    raise UpstreamAuthError(core.fatal_error, upstream_status=401)
                await core.budget.admit_cloud(run)
                self.admitted = True
            else:
                guards = spec.guards
                if backend.output_capped:
                    cap = guards.max_output_tokens
                if cap is not None and (req.max_tokens is None or req.max_tokens > cap):
                    req = dataclasses.replace(req, max_tokens=cap)
                    capped = True
            limit = core.limit(backend.spec)
            t = perf_counter()
            if limit is not None:
                # Waiting for the backend's slot (behind other cells' calls, in arrival order) is not
                # this call's time: its wall-time guard starts once the slot is granted. The wait
                # ends when the slot comes or the client goes away (the disconnect watch).
                await limit.acquire()
                acquired = True
            call = CallContext(run=spec, side=decision.choice, guards=guards, started=time.monotonic())
            deadline = call.deadline
            stream = backend.batches(req, call).__aiter__()
            while True:  # one group of events (one upstream read) a turn, metered event by event
                try:
                    if deadline is None:
                        batch = await stream.__anext__()
                    else:  # asyncio.timeout, not wait_for: no task per read (Python 3.11)
                        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                            batch = await stream.__anext__()
                except StopAsyncIteration:
                    break
                finally:
                    now = perf_counter()
                    upstream_s += now - t
                for i, ev in enumerate(batch):
                    if isinstance(ev, Finish):
                        finish = ev
                        continue
                    if isinstance(ev, Usage):
                        usage = ev
                    meter.add(ev)
                    # Checked on content only: the final Usage of an answer that just fits must not cut it.
                    if cap is not None and req.stream and not isinstance(ev, Usage) and meter.at_least(cap):
                        # The upstream ignored max_tokens (the cap is only a request): stop reading it
                        # and end the answer the way a server that honoured the cap would have.
                        cut, stream = stream, None
                        await _close_quietly(cut)
                        usage = meter.usage(usage, estimate_prompt_tokens(req))
                        status = "truncated"
                        error = (f"local output cap of {cap} tokens reached; the upstream kept generating, so "
                                 "the router stopped reading it")
                        yield batch[:i + 1] + [usage, Finish("length", model)]
                        return
                yield batch
                t = perf_counter()
            if finish is None:
                raise UpstreamProtocolError(f"backend {backend.spec.label} ended without finishing the answer")
            model = finish.model or model
            if capped and finish.reason == "length":
                status = "truncated"
                error = f"local output cap of {cap} tokens reached"
            elif cap is not None and meter.at_least(cap + 1):
                status = "truncated"  # answered whole, but past the cap: the upstream ignored it
                error = f"the upstream ignored the local output cap: {meter.tokens()} tokens against a cap of {cap}"
        except TimeoutError as exc:
            if deadline is None or time.monotonic() < deadline - 0.05:  # an upstream library's own timeout
                status, error = "upstream_error", f"upstream timed out: {type(exc).__name__}: {exc}"
                raise UpstreamError(error) from None
            status = "timeout"
            error = f"pytest-arena: local wall timeout of {spec.guards.wall_timeout_s:g} s cut the call"
            raise LocalTimeoutError(error) from None
        except RouterError as err:
            status, error = err.status, err.message
            if isinstance(err, UpstreamAuthError) and core.fatal_error is None:
                core.fatal_error = err.message
            raise
        except (GeneratorExit, asyncio.CancelledError):
            status, error = "client_error", "the client went away before the answer was complete"
            raise
        except Exception as exc:  # a bug or an unexpected library error: still recorded, still an HTTP error
            _log.exception("call in run %s failed", spec.run_id)
            status, error = "upstream_error", f"pytest-arena internal error: {type(exc).__name__}: {exc}"
            raise UpstreamError(error) from exc
        finally:
            if stream is not None:
                await _close_quietly(stream)
            if acquired and limit is not None:
                limit.release()
            self._record(ts, status, error, reason, model, usage, meter, decide_s, upstream_s, finish)

    def _record(self, ts: float, status: CallStatus, error: str | None, reason: str, model: str, usage: Usage | None,
                meter: OutputMeter, decide_s: float, upstream_s: float, finish: Finish | None = None) -> None:
        core, run, req = self.core, self.run, self.req
        if usage is None:  # cut before the upstream reported usage: count what we saw
            usage = meter.usage(None, estimate_prompt_tokens(req)) if meter.pieces else Usage()
        side = self.side or "local"
        total_s = perf_counter() - self.arrived
        cost_usd, priced_as = core.budget.charge(run, self.backend.spec, side, model, usage) \
            if self.backend is not None else (0.0, None)
        core.record(run, LedgerRecord(
            run_id=run.spec.run_id, seq=self.seq, ts=ts, protocol=req.protocol, purpose="agent",
            strategy=run.spec.strategy, choice=side, reason=reason or "not routed",
            backend=self.backend.spec.label if self.backend is not None else "", model=model,
            prompt_tokens=usage.prompt, completion_tokens=usage.completion, cached_tokens=usage.cached,
            reasoning_tokens=usage.reasoning, cost_usd=cost_usd, priced_as=priced_as,
            decide_ms=decide_s * 1e3, upstream_ms=upstream_s * 1e3,
            overhead_ms=max(0.0, total_s - decide_s - upstream_s) * 1e3,
            stream=req.stream, status=status, error=error, forced=req.force),
            req, (getattr(meter, "events", None), finish))  # the transcript assembles the answer later
        if self.admitted:
            core.budget.release_cloud(run)
        run.inflight -= 1
        if run.inflight == 0:
            run.idle.set()

"""The call pipeline and the run registry: decide, check the budget, call the backend under its
concurrency limit and the local guards, and record exactly one ledger record per call.

Everything here runs on the router's event loop; ``service.RouterHandle`` crosses threads.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from pytest_arena.router import strategies
from pytest_arena.router.backends import make_backend
from pytest_arena.router.backends.base import Backend, CallContext
from pytest_arena.router.canonical import collect, estimate_prompt_tokens
from pytest_arena.router.contracts import (
    BackendSpec,
    CallStatus,
    CanonicalRequest,
    CanonicalResponse,
    Event,
    Finish,
    LedgerRecord,
    RunEndpoints,
    RunSpec,
    RunTotals,
    Side,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from pytest_arena.router.errors import (
    BudgetExceededError,
    ConfigError,
    LocalTimeoutError,
    RouterError,
    UnknownRunError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamProtocolError,
)
from pytest_arena.router.ledger import Ledger
from pytest_arena.router.limits import BackendLimit, make_limit
from pytest_arena.router.pricing import LOCAL_KEY, LOCAL_KINDS, PricingTable

_log = logging.getLogger(__name__)
RECENT_RECORDS = 1000  # ledger records the standalone router's run keeps in memory


@dataclass(slots=True)
class CoreSettings:
    """What the pipeline needs from RouterSettings."""

    session_budget_usd: float | None = None
    routing_headers: bool = True
    unscoped_run_id: str | None = None
    # The unscoped run's token (python -m pytest_arena.router --token); None leaves that one run open to any caller.
    unscoped_token: str | None = None
    lock_dir: Path | None = None  # cross-process slots for shared local servers (see limits.py)
    max_body_bytes: int | None = 32 * 2**20  # RouterSettings.max_body_bytes and the two below
    max_messages: int | None = 10_000
    max_inflight_per_run: int | None = 16


@dataclass(slots=True, eq=False)
class RunState:
    spec: RunSpec
    endpoints: RunEndpoints
    local: Backend
    cloud: Backend
    classifier: Backend | None
    embedder: Backend | None
    strategy_ctx: strategies.StrategyContext
    token: bytes | None  # what a call must present (RunEndpoints.api_key); None: any caller
    seq: int = 0
    inflight: int = 0
    admitting: int = 0  # requests admitted whose body is being read and parsed (not yet calls)
    spent_usd: float = 0.0
    cloud_inflight: int = 0  # admitted cloud agent calls not yet recorded
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    transcript: Any = None  # pytest_arena.router.transcript.Transcript when the spec asks for one

    def next_seq(self) -> int:
        seq = self.seq
        self.seq += 1
        return seq


def _backend_key(spec: BackendSpec) -> tuple:
    return (spec.kind, spec.model, spec.label, spec.base_url, spec.api_key_env, spec.fallback_model)


class RouterCore:
    def __init__(self, settings: CoreSettings, ledger: Ledger, pricing: PricingTable, backend_settings=None):
        self.settings = settings
        self.ledger = ledger
        self.pricing = pricing
        self.backend_settings = backend_settings  # RouterSettings, for make_backend
        self.runs: dict[str, RunState] = {}
        self.base_url = ""
        self.session_spent_usd = 0.0
        self.session_cloud_inflight = 0
        self.max_cloud_call_usd = 0.0  # the dearest cloud call so far: the budget's in-flight estimate
        self._budget_changed = asyncio.Event()
        self.fatal_error: str | None = None
        self._unpriced_warned: set[str] = set()  # served model names already warned about (price_key)
        self.unauthorized_calls = 0  # refused for a missing or wrong run token; in no run's ledger
        self._backends: dict[tuple, Backend] = {}
        self._limits: dict[str, BackendLimit | None] = {}

    # ------------------------------------------------------------------ runs
    def backend(self, spec: BackendSpec) -> Backend:
        key = _backend_key(spec)
        backend = self._backends.get(key)
        if backend is None:
            backend = self._backends[key] = make_backend(spec, self.backend_settings)
        return backend

    def limit(self, spec: BackendSpec) -> BackendLimit | None:
        if spec.label not in self._limits:
            self._limits[spec.label] = make_limit(spec, self.settings.lock_dir)
        return self._limits[spec.label]

    async def register(self, spec: RunSpec) -> RunEndpoints:
        if spec.run_id in self.runs:
            raise ConfigError(f"run id {spec.run_id!r} is already registered; run ids must be unique per session")
        try:
            params = strategies.validate_params(spec.strategy, spec.strategy_params)
        except ValueError as exc:
            raise ConfigError(f"run {spec.run_id}: {exc}") from None
        cloud_price = self.pricing.rate_for(spec.cloud.model)
        if (spec.cell_budget_usd is not None or self.settings.session_budget_usd is not None) \
                and spec.cloud.kind not in LOCAL_KINDS and cloud_price is None:
            raise ConfigError(
                f"run {spec.run_id}: cloud model {spec.cloud.model!r} has no price in {self.pricing.path}, so a "
                "budget cap cannot be enforced; add it to the pricing table (RouterSettings.pricing_path)")
        # "sk-" as agents' OpenAI clients expect of a key; never a leading "-" that a CLI parser
        # would take for a flag (aider --openai-api-key, cline -k).
        token, required = "sk-arena-" + secrets.token_urlsafe(24), True
        if spec.run_id == self.settings.unscoped_run_id:  # python -m pytest_arena.router: its --token, else open
            token = self.settings.unscoped_token or token
            required = self.settings.unscoped_token is not None
        endpoints = RunEndpoints(
            openai_base=f"{self.base_url}/run/{spec.run_id}/v1",
            anthropic_base=f"{self.base_url}/run/{spec.run_id}",
            ollama_base=f"{self.base_url}/run/{spec.run_id}",
            model=f"arena-{spec.strategy}",
            api_key=token,
        )
        run = RunState(
            spec=spec, endpoints=endpoints, local=self.backend(spec.local), cloud=self.backend(spec.cloud),
            classifier=self.backend(spec.classifier) if spec.classifier else None,
            embedder=self.backend(spec.embedder) if spec.embedder else None,
            strategy_ctx=strategies.StrategyContext(params=params, classifier_timeout_s=spec.classifier_timeout_s),
            token=token.encode() if required else None,
        )
        # API keys are loaded now, and only for the backends this run can route to: an
        # always-local run needs no cloud key. Raises ConfigError naming a missing variable.
        for side in strategies.sides_reached(spec.strategy):
            (run.local if side == "local" else run.cloud).prepare()
        for helper in (run.classifier, run.embedder):
            if helper is not None:
                helper.prepare()
        run.idle.set()
        from pytest_arena.router.transcript import open_transcript  # it imports this module

        run.transcript = open_transcript(run)
        if run.classifier is not None:
            run.strategy_ctx.complete = lambda req: self.classify(run, req)
        if run.embedder is not None:
            run.strategy_ctx.embed = lambda texts: self.embed(run, texts)
        # The standalone router's run is never finished: it keeps running totals and a window of
        # recent records, so its memory stays flat however many calls it serves.
        unscoped = spec.run_id == self.settings.unscoped_run_id
        self.ledger.open_run(spec.run_id, keep_recent=RECENT_RECORDS if unscoped else None)
        self.runs[spec.run_id] = run
        try:
            await strategies.warm_up(spec.strategy, run.strategy_ctx)
        except Exception as exc:
            del self.runs[spec.run_id]
            self.ledger.forget(spec.run_id)
            raise ConfigError(f"run {spec.run_id}: strategy {spec.strategy!r} could not start: {exc}") from None
        return endpoints

    def run(self, run_id: str | None) -> RunState:
        run = self.runs.get(run_id or self.settings.unscoped_run_id or "")
        if run is None:
            raise UnknownRunError(f"pytest-arena: unknown run id {run_id!r}; the router serves "
                                  f"{len(self.runs)} registered run(s) under /run/<run_id>/")
        return run

    async def finish(self, run_id: str, timeout_s: float = 10.0) -> RunTotals:
        run = self.runs.get(run_id)
        if run is None:
            raise UnknownRunError(f"pytest-arena: run {run_id!r} is not registered (finished twice?)")
        try:
            await asyncio.wait_for(run.idle.wait(), timeout_s)
        except asyncio.TimeoutError:
            _log.warning("run %s: %d call(s) still in flight after %.1f s; totals exclude them",
                         run_id, run.inflight, timeout_s)
        del self.runs[run_id]
        if run.transcript is not None:
            run.transcript.close()
        self.ledger.flush()
        return self.ledger.forget(run_id)

    async def aclose(self) -> None:
        self.ledger.flush()
        for run in self.runs.values():  # runs never finished (the standalone router's) keep their transcript
            if run.transcript is not None:
                run.transcript.close()
        for backend in self._backends.values():
            try:
                await backend.aclose()
            except Exception:  # closing must not stop the other backends from closing
                _log.exception("closing backend %s", backend.spec.label)

    # ------------------------------------------------------------------ recording
    def side_of(self, spec: BackendSpec) -> Side:
        if spec.kind in LOCAL_KINDS or self.pricing.normalise(spec.model) == LOCAL_KEY:
            return "local"
        return "cloud"

    def record(self, run: RunState, rec: LedgerRecord, request: Any = None, answer: Any = None) -> None:
        """The one record point: the ledger, and the run's transcript with the call's bodies."""
        if run.transcript is not None:
            run.transcript.add(rec, request, answer)
        if rec.cost_usd:
            run.spent_usd += rec.cost_usd
            self.session_spent_usd += rec.cost_usd
            self.max_cloud_call_usd = max(self.max_cloud_call_usd, rec.cost_usd)
        self.ledger.add(rec)

    def charge(self, run: RunState, spec: BackendSpec, side: Side, served: str, usage: Usage) -> tuple[float, str | None]:
        """(USD, price-table key) of one call: 0 for local; cached prompt tokens at the cache-read
        rate only when the run prices prompt caching (RunSpec.prompt_cache), else as uncached input."""
        if side == "local":
            return 0.0, None
        key = self.price_key(spec, served)
        if key is None:
            return 0.0, None
        cached = usage.cached if run.spec.prompt_cache else 0
        return self.pricing.cost(key, usage.prompt, usage.completion, cached), key

    def price_key(self, spec: BackendSpec, served: str) -> str | None:
        """The price a cloud call is charged at: the backend's ``price_as`` stand-in, else the model
        the upstream says served it, else the configured model. Budgets are admitted on the
        configured model's price, so an alias the table lacks (a dated or vendor name) must not
        make the call free; each such name is logged once."""
        configured = self.pricing.normalise(spec.price_as or spec.model)
        configured = None if configured == LOCAL_KEY else configured
        if spec.price_as:
            return configured
        key = self.pricing.normalise(served)
        if key is not None and key != LOCAL_KEY:  # a cloud call is never priced as local
            return key
        name = served or spec.model
        if name not in self._unpriced_warned:
            self._unpriced_warned.add(name)
            if configured is None:
                _log.warning("cloud model %r (backend %s) has no price in %s: its calls cost $0 in the ledger "
                             "and every report; add it to the pricing table", name, spec.label, self.pricing.path)
            else:
                _log.warning("the upstream of %s named the serving model %r, which has no price in %s; its "
                             "calls are charged at the configured model's price (%s)", spec.label, name,
                             self.pricing.path, configured)
        return configured

    def record_rejected(self, run: RunState, protocol: str, message: str, arrived: float,
                        status: CallStatus = "client_error") -> None:
        """A request refused before routing (unparseable: ``client_error``; over one of the
        router's bounds: ``rejected``): still one record."""
        self.record(run, LedgerRecord(
            run_id=run.spec.run_id, seq=run.next_seq(), ts=time.time(), protocol=protocol, purpose="agent",
            strategy=run.spec.strategy, choice="local", reason="rejected before routing", backend="", model="",
            overhead_ms=(perf_counter() - arrived) * 1e3, status=status, error=message))

    def check_budget(self, run: RunState) -> None:
        cap = run.spec.cell_budget_usd
        if cap is not None and run.spent_usd >= cap:
            raise BudgetExceededError(
                f"pytest-arena: cloud budget exhausted for this cell (spent ${run.spent_usd:.4f} of the "
                f"${cap:.4f} cell budget); no further cloud calls are made in this run")
        cap = self.settings.session_budget_usd
        if cap is not None and self.session_spent_usd >= cap:
            raise BudgetExceededError(
                f"pytest-arena: cloud budget exhausted for this session (spent ${self.session_spent_usd:.4f} "
                f"of the ${cap:.4f} session budget); no further cloud calls are made")

    async def admit_cloud(self, run: RunState) -> None:
        """Admit one cloud agent call under the budget caps, or refuse it (BudgetExceededError).

        With calls already in flight, another is admitted only if the caps can absorb all of them
        at the dearest call's price so far (before any call is priced: one at a time); otherwise
        it waits for an in-flight call to be recorded. So concurrent calls cannot overshoot a cap
        by more than the one call that crossed it."""
        cell_cap, session_cap = run.spec.cell_budget_usd, self.settings.session_budget_usd
        while cell_cap is not None or session_cap is not None:
            self.check_budget(run)
            if self._fits(cell_cap, run.spent_usd, run.cloud_inflight) and \
                    self._fits(session_cap, self.session_spent_usd, self.session_cloud_inflight):
                break
            changed = self._budget_changed
            await changed.wait()
        run.cloud_inflight += 1
        self.session_cloud_inflight += 1

    def _fits(self, cap: float | None, spent: float, inflight: int) -> bool:
        if cap is None or inflight == 0:
            return True
        return self.max_cloud_call_usd > 0 and spent + (inflight + 1) * self.max_cloud_call_usd <= cap

    def release_cloud(self, run: RunState) -> None:
        run.cloud_inflight -= 1
        self.session_cloud_inflight -= 1
        if run.spec.cell_budget_usd is not None or self.settings.session_budget_usd is not None:
            changed, self._budget_changed = self._budget_changed, asyncio.Event()
            changed.set()  # wakes calls waiting in admit_cloud

    # ------------------------------------------------------------------ router's own calls
    async def classify(self, run: RunState, req: CanonicalRequest) -> CanonicalResponse:
        """``StrategyContext.complete``: the classifier model, recorded with purpose "classifier".
        Its timeout (waiting for a slot included) is enforced here, where the call is recorded,
        so a call that timed out says ``timeout`` in the ledger."""
        backend = run.classifier
        assert backend is not None
        side = self.side_of(backend.spec)
        started, ts = perf_counter(), time.time()
        usage, model, status, error, resp = Usage(), backend.spec.model, "ok", None, None
        limit = self.limit(backend.spec)
        timeout_s = run.strategy_ctx.classifier_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                if side == "cloud":
                    self.check_budget(run)
                if limit is not None:
                    await limit.acquire()
                try:
                    call = CallContext(run=run.spec, side=side, guards=None, started=time.monotonic())
                    resp = await collect(backend.stream(req, call))
                finally:
                    if limit is not None:
                        limit.release()
            usage, model = resp.usage, resp.model or model
            return resp
        except TimeoutError:
            status, error = "timeout", f"classifier gave no answer within {timeout_s:g} s"
            raise LocalTimeoutError(error) from None
        except RouterError as err:
            status, error = err.status, err.message
            raise
        except asyncio.CancelledError:
            status, error = "client_error", "the call that asked for this classification went away"
            raise
        except Exception as exc:  # a bug or an unexpected library error: never recorded as ok
            status, error = "upstream_error", f"pytest-arena internal error: {type(exc).__name__}: {exc}"
            raise UpstreamError(error) from exc
        finally:
            elapsed = (perf_counter() - started) * 1e3
            cost_usd, priced_as = self.charge(run, backend.spec, side, model, usage)
            self.record(run, LedgerRecord(
                run_id=run.spec.run_id, seq=run.next_seq(), ts=ts, protocol=req.protocol, purpose="classifier",
                strategy=run.spec.strategy, choice=side, reason=f"classifier call of {run.spec.strategy}",
                backend=backend.spec.label, model=model, prompt_tokens=usage.prompt or estimate_prompt_tokens(req),
                completion_tokens=usage.completion, cached_tokens=usage.cached, reasoning_tokens=usage.reasoning,
                cost_usd=cost_usd, priced_as=priced_as, upstream_ms=elapsed, status=status, error=error), req, resp)

    async def embed(self, run: RunState, texts: list[str]) -> list[list[float]]:
        """``StrategyContext.embed``: the embedding model, recorded with purpose "embedding"."""
        backend = run.embedder
        assert backend is not None
        side = self.side_of(backend.spec)
        started, ts = perf_counter(), time.time()
        status, error = "ok", None
        usage = Usage(prompt=sum((len(t) + 3) // 4 for t in texts))  # embedding APIs rarely report usage
        vectors = None
        try:
            vectors = await backend.embed(texts)
            return vectors
        except RouterError as err:
            status, error = err.status, err.message
            raise
        except NotImplementedError as exc:
            status, error = "upstream_error", str(exc)
            raise
        finally:
            cost_usd, priced_as = self.charge(run, backend.spec, side, backend.spec.model, usage)
            self.record(run, LedgerRecord(
                run_id=run.spec.run_id, seq=run.next_seq(), ts=ts, protocol="embedding", purpose="embedding",
                strategy=run.spec.strategy, choice=side, reason=f"{len(texts)} text(s) embedded for {run.spec.strategy}",
                backend=backend.spec.label, model=backend.spec.model, prompt_tokens=usage.prompt,
                cost_usd=cost_usd, priced_as=priced_as,
                upstream_ms=(perf_counter() - started) * 1e3, status=status, error=error),
                texts, None if vectors is None else {"vectors": len(vectors), "dims": len(vectors[0]) if vectors else 0})

    # ------------------------------------------------------------------ agent calls
    def open_call(self, run: RunState, req: CanonicalRequest, arrived: float) -> "RoutedCall":
        if req.seed is None and run.spec.seed is not None:
            # The cell's seed reaches every backend that takes one (OpenAI-compatible, Ollama);
            # a sampling parameter, not text: nothing the model reads changes.
            req.seed = run.spec.seed
        return RoutedCall(self, run, req, arrived)


# Characters a token may hold at most, for the estimate: English runs ~4-5 characters a token and
# code fewer, so the estimate stays low and never cuts a server that honours the cap early.
_MAX_CHARS_PER_TOKEN = 6


async def _close_quietly(stream) -> None:
    """Close a backend's event stream (its upstream connection); a failure closing changes nothing
    about the answer already given."""
    try:
        await stream.aclose()
    except Exception:
        pass


class OutputMeter:
    """Counts a local answer's completion tokens as it streams, for the output cap: the upstream's
    own count when it sends one (a usage chunk), else an estimate from the deltas that errs low.
    Local servers (Ollama, llama.cpp, vLLM) stream one token per piece, so pieces do not
    overcount; characters catch a server that sends many tokens per piece."""

    __slots__ = ("reported", "pieces", "chars")

    def __init__(self) -> None:
        self.reported: int | None = None
        self.pieces = 0
        self.chars = 0

    def add(self, ev: Event) -> None:
        if isinstance(ev, TextDelta):
            if ev.text:
                self.pieces += 1
                self.chars += len(ev.text)
        elif isinstance(ev, ToolCallDelta):
            self.pieces += 1
            self.chars += len(ev.arguments) + len(ev.name or "")
        elif isinstance(ev, Usage) and ev.completion:
            self.reported = ev.completion

    def tokens(self) -> int:
        if self.reported is not None:
            return self.reported
        return max(self.pieces, self.chars // _MAX_CHARS_PER_TOKEN)

    def at_least(self, tokens: int) -> bool:
        return self.tokens() >= tokens

    def usage(self, seen: Usage | None, req: CanonicalRequest) -> Usage:
        """Usage of an answer cut short: the tokens actually received."""
        if seen is None:
            return Usage(prompt=estimate_prompt_tokens(req), completion=self.tokens())
        return Usage(prompt=seen.prompt or estimate_prompt_tokens(req), completion=self.tokens(),
                     cached=seen.cached, reasoning=seen.reasoning)


class RoutedCall:
    """One agent call. ``await start()`` decides and waits for the first backend events (so errors
    before any output become proper HTTP errors); ``batches()`` then yields all events in the
    groups the upstream sent them in (a streaming front door writes each group at once), and
    ``events()`` the same events one by one. The ledger record is written exactly once, when the
    pipeline ends for any reason."""

    __slots__ = ("core", "run", "req", "arrived", "seq", "side", "backend", "admitted", "on_decided", "_gen",
                 "_first")

    def __init__(self, core: RouterCore, run: RunState, req: CanonicalRequest, arrived: float):
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

    async def batches(self) -> AsyncIterator[list[Event]]:
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

    async def _pipeline(self) -> AsyncIterator[list[Event]]:
        core, run, req = self.core, self.run, self.req
        spec = run.spec
        ts = time.time()
        status, error = "ok", None
        usage: Usage | None = None
        finish: Finish | None = None
        meter = OutputMeter() if run.transcript is None else run.transcript.meter()
        decide_s = upstream_s = 0.0
        reason = ""
        model = ""
        limit = None
        acquired = capped = False
        stream = None
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
                await core.admit_cloud(run)
                self.admitted = True
            else:
                guards = spec.guards
                if backend.spec.kind != "scripted":  # the offline stand-in writes whole files, no model runs
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
                        stream, cut = None, stream
                        await _close_quietly(cut)
                        usage = meter.usage(usage, req)
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
        except asyncio.TimeoutError as exc:
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
            if acquired:
                limit.release()
            self._record(ts, status, error, reason, model, usage, meter, decide_s, upstream_s, finish)

    def _record(self, ts, status, error, reason, model, usage, meter, decide_s, upstream_s, finish=None) -> None:
        core, run, req = self.core, self.run, self.req
        if usage is None:  # cut before the upstream reported usage: count what we saw
            usage = meter.usage(None, req) if meter.pieces else Usage()
        side = self.side or "local"
        total_s = perf_counter() - self.arrived
        cost_usd, priced_as = core.charge(run, self.backend.spec, side, model, usage) \
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
            core.release_cloud(run)
        run.inflight -= 1
        if run.inflight == 0:
            run.idle.set()

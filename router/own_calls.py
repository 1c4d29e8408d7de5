"""The router's own calls: the classifier and the embedding model a strategy asks for through
``StrategyContext.complete`` / ``.embed`` (the run registry wires them at ``register``). Each is
priced and recorded like an agent call, with purpose "classifier" or "embedding", so a cell's
totals hold what routing it cost.
"""
from __future__ import annotations

import asyncio
import time
from time import perf_counter

from pytest_arena.router.backends.base import CallContext
from pytest_arena.router.canonical import collect, estimate_prompt_tokens
from pytest_arena.router.contracts import CallStatus, CanonicalRequest, CanonicalResponse, LedgerRecord, Usage
from pytest_arena.router.core import RouterCore
from pytest_arena.router.errors import LocalTimeoutError, RouterError, UpstreamError
from pytest_arena.router.run_state import RunState

__all__ = ["classify", "embed"]


async def classify(core: RouterCore, run: RunState, req: CanonicalRequest) -> CanonicalResponse:
    """``StrategyContext.complete``: the classifier model, recorded with purpose "classifier".
    Its timeout (waiting for a slot included) is enforced here, where the call is recorded,
    so a call that timed out says ``timeout`` in the ledger."""
    backend = run.classifier
    assert backend is not None
    side = core.budget.side_of(backend.spec)
    started, ts = perf_counter(), time.time()
    usage, model, error, resp = Usage(), backend.spec.model, None, None
    status: CallStatus = "ok"
    limit = core.limit(backend.spec)
    timeout_s = run.strategy_ctx.classifier_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            if side == "cloud":
                core.budget.check(run)
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
        cost_usd, priced_as = core.budget.charge(run, backend.spec, side, model, usage)
        core.record(run, LedgerRecord(
            run_id=run.spec.run_id, seq=run.next_seq(), ts=ts, protocol=req.protocol, purpose="classifier",
            strategy=run.spec.strategy, choice=side, reason=f"classifier call of {run.spec.strategy}",
            backend=backend.spec.label, model=model, prompt_tokens=usage.prompt or estimate_prompt_tokens(req),
            completion_tokens=usage.completion, cached_tokens=usage.cached, reasoning_tokens=usage.reasoning,
            cost_usd=cost_usd, priced_as=priced_as, upstream_ms=elapsed, status=status, error=error), req, resp)


async def embed(core: RouterCore, run: RunState, texts: list[str]) -> list[list[float]]:
    """``StrategyContext.embed``: the embedding model, recorded with purpose "embedding"."""
    backend = run.embedder
    assert backend is not None
    side = core.budget.side_of(backend.spec)
    started, ts = perf_counter(), time.time()
    status: CallStatus = "ok"
    error = None
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
        cost_usd, priced_as = core.budget.charge(run, backend.spec, side, backend.spec.model, usage)
        core.record(run, LedgerRecord(
            run_id=run.spec.run_id, seq=run.next_seq(), ts=ts, protocol="embedding", purpose="embedding",
            strategy=run.spec.strategy, choice=side, reason=f"{len(texts)} text(s) embedded for {run.spec.strategy}",
            backend=backend.spec.label, model=backend.spec.model, prompt_tokens=usage.prompt,
            cost_usd=cost_usd, priced_as=priced_as,
            upstream_ms=(perf_counter() - started) * 1e3, status=status, error=error),
            texts, None if vectors is None else {"vectors": len(vectors), "dims": len(vectors[0]) if vectors else 0})

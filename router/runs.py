"""The run registry: the runs the router serves, by run id. ``register`` checks a RunSpec, makes
its run-scoped endpoints and token, prepares the backends its strategy can reach, opens its
transcript and warms its strategy up; ``run`` finds a call's run; ``finish`` waits for its calls
and hands back its totals.

Everything here runs on the router's event loop; ``service.RouterHandle`` crosses threads.
"""
from __future__ import annotations

import asyncio
import logging
import secrets

from pytest_arena.router import strategies
from pytest_arena.router.contracts import RunEndpoints, RunSpec, RunTotals
from pytest_arena.router.core import RouterCore
from pytest_arena.router.errors import ConfigError, UnknownRunError
from pytest_arena.router.own_calls import classify, embed
from pytest_arena.router.run_state import RunState
from pytest_arena.router.transcript import open_transcript

__all__ = ["RECENT_RECORDS", "Runs"]

_log = logging.getLogger(__name__)
RECENT_RECORDS = 1000  # ledger records the standalone router's run keeps in memory


class Runs:
    """The registered runs of one router, over the core their calls share."""

    def __init__(self, core: RouterCore):
        self.core = core
        self.base_url = ""  # http://host:port, set once the router listens
        self._runs: dict[str, RunState] = {}

    def __len__(self) -> int:
        return len(self._runs)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._runs

    async def register(self, spec: RunSpec) -> RunEndpoints:
        core, settings = self.core, self.core.settings
        if spec.run_id in self._runs:
            raise ConfigError(f"run id {spec.run_id!r} is already registered; run ids must be unique per session")
        try:
            params = strategies.validate_params(spec.strategy, spec.strategy_params)
        except ValueError as exc:
            raise ConfigError(f"run {spec.run_id}: {exc}") from None
        # "sk-" as agents' OpenAI clients expect of a key; never a leading "-" that a CLI parser
        # would take for a flag (aider --openai-api-key, cline -k).
        token, required = "sk-arena-" + secrets.token_urlsafe(24), True
        if spec.run_id == settings.unscoped_run_id:  # python -m pytest_arena.router: its --token, else open
            token = settings.unscoped_token or token
            required = settings.unscoped_token is not None
        endpoints = RunEndpoints(
            openai_base=f"{self.base_url}/run/{spec.run_id}/v1",
            anthropic_base=f"{self.base_url}/run/{spec.run_id}",
            ollama_base=f"{self.base_url}/run/{spec.run_id}",
            model=f"arena-{spec.strategy}",
            api_key=token,
        )
        run = RunState(
            spec=spec, endpoints=endpoints, local=core.backend(spec.local), cloud=core.backend(spec.cloud),
            classifier=core.backend(spec.classifier) if spec.classifier else None,
            embedder=core.backend(spec.embedder) if spec.embedder else None,
            strategy_ctx=strategies.StrategyContext(params=params, classifier_timeout_s=spec.classifier_timeout_s),
            token=token.encode() if required else None,
        )
        core.budget.check_priced(spec)
        # API keys are loaded now, and only for the backends this run can route to: an
        # always-local run needs no cloud key. Raises ConfigError naming a missing variable.
        for side in strategies.get_strategy(spec.strategy).sides:
            (run.local if side == "local" else run.cloud).prepare()
        for helper in (run.classifier, run.embedder):
            if helper is not None:
                helper.prepare()
        run.idle.set()
        run.transcript = open_transcript(spec, run.secrets)
        if run.classifier is not None:
            run.strategy_ctx.complete = lambda req: classify(core, run, req)
        if run.embedder is not None:
            run.strategy_ctx.embed = lambda texts: embed(core, run, texts)
        # The standalone router's run is never finished: it keeps running totals and a window of
        # recent records, so its memory stays flat however many calls it serves.
        unscoped = spec.run_id == settings.unscoped_run_id
        core.ledger.open_run(spec.run_id, keep_recent=RECENT_RECORDS if unscoped else None)
        self._runs[spec.run_id] = run
        try:
            await strategies.warm_up(spec.strategy, run.strategy_ctx)
        except Exception as exc:
            del self._runs[spec.run_id]
            core.ledger.forget(spec.run_id)
            raise ConfigError(f"run {spec.run_id}: strategy {spec.strategy!r} could not start: {exc}") from None
        return endpoints

    def run(self, run_id: str | None) -> RunState:
        run = self._runs.get(run_id or self.core.settings.unscoped_run_id or "")
        if run is None:
            raise UnknownRunError(f"pytest-arena: unknown run id {run_id!r}; the router serves "
                                  f"{len(self._runs)} registered run(s) under /run/<run_id>/")
        return run

    async def finish(self, run_id: str, timeout_s: float = 10.0) -> RunTotals:
        run = self._runs.get(run_id)
        if run is None:
            raise UnknownRunError(f"pytest-arena: run {run_id!r} is not registered (finished twice?)")
        try:
            await asyncio.wait_for(run.idle.wait(), timeout_s)
        except TimeoutError:
            _log.warning("run %s: %d call(s) still in flight after %.1f s; totals exclude them",
                         run_id, run.inflight, timeout_s)
        del self._runs[run_id]
        if run.transcript is not None:
            run.transcript.close()
        self.core.ledger.flush()
        return self.core.ledger.forget(run_id)

    async def aclose(self) -> None:
        """Close the router: runs never finished (the standalone router's) keep their transcript."""
        for run in self._runs.values():
            if run.transcript is not None:
                run.transcript.close()
        await self.core.aclose()

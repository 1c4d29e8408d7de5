"""Routing strategies: each picks ``local`` or ``cloud`` for one canonical request.

Public interface (the router calls only these):

- ``STRATEGY_NAMES``: the eight strategy names.
- ``DEFAULT_PARAMS[name]``: that strategy's params and their defaults (the original's constants);
  ``PARAM_SPECS`` documents each one.
- ``validate_params(name, params)``: merged params; ValueError naming an unknown key or bad value.
- ``split_forcing(model)``: strip a ``!local`` / ``!cloud`` suffix from a model name.
- ``await warm_up(name, ctx)``: once at run registration (embeds the kNN corpus, checks that a
  classifier is configured), so no routed call pays for it.
- ``await decide(name, req, ctx)``: the Decision for one call.

Every strategy is a small function of the request and the params; only ``llm-classifier``,
``embedding-knn`` and ``cascade`` await a model call (through ``ctx.complete`` / ``ctx.embed``,
which the router records and prices).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pytest_arena.router.contracts import CanonicalRequest, Side
from pytest_arena.router.strategies import classifier, heuristic, knn, phase, rules
from pytest_arena.router.strategies.base import Decision, StrategyContext
from pytest_arena.router.strategies.params import (
    DEFAULT_PARAMS,
    PARAM_SPECS,
    STRATEGY_NAMES,
    ParamSpec,
    check_strategy_name,
    validate_params,
)

__all__ = [
    "DEFAULT_PARAMS", "PARAM_SPECS", "STRATEGY_NAMES", "STRATEGIES", "Decision", "ParamSpec",
    "StrategyContext", "decide", "sides_reached", "split_forcing", "validate_params", "warm_up",
]

# contracts.RunSpec.strategy refers to the names by this spelling.
STRATEGIES = STRATEGY_NAMES

_log = logging.getLogger(__name__)

_FORCING_SUFFIXES: dict[str, Side] = {"!local": "local", "!cloud": "cloud"}


def split_forcing(model: str) -> tuple[str, Side | None]:
    """``"gpt-5.5!cloud"`` -> ``("gpt-5.5", "cloud")``; a name without a suffix is returned as is.

    The suffix is removed wherever it sits, because some clients append to the name (Ollama
    clients may add ``:latest`` after it). Both suffixes at once is a mistake, reported as such.
    """
    found = [side for token, side in _FORCING_SUFFIXES.items() if token in model]
    if len(found) > 1:
        raise ValueError(f"model name {model!r} carries both !local and !cloud; keep one")
    for token in _FORCING_SUFFIXES:
        model = model.replace(token, "")
    return model, (found[0] if found else None)


def sides_reached(name: str) -> tuple[Side, ...]:
    """The sides a strategy routes to by itself (a !local/!cloud suffix can still force the other)."""
    if name == "always-local":
        return ("local",)
    if name == "always-cloud":
        return ("cloud",)
    return ("local", "cloud")


def _always(side: Side) -> Callable[[CanonicalRequest, StrategyContext], Decision]:
    def choose(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
        return Decision(side, f"control: always-{side}", 1.0)
    return choose


_SYNC: dict[str, Callable[[CanonicalRequest, StrategyContext], Decision]] = {
    "always-local": _always("local"),
    "always-cloud": _always("cloud"),
    "rules": rules.decide,
    "heuristic": heuristic.decide,
    "phase-aware": phase.decide,
}
_ASYNC: dict[str, Callable[[CanonicalRequest, StrategyContext], Awaitable[Decision]]] = {
    "llm-classifier": classifier.decide,
    "embedding-knn": knn.decide,
    "cascade": classifier.decide_cascade,
}


async def decide(name: str, req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    """Route one call. A ``!local``/``!cloud`` suffix (``req.force``) wins without running the
    strategy, so a forced call spends nothing on a classifier or an embedding."""
    check_strategy_name(name)
    if req.force is not None:
        return Decision(req.force, f"forced {req.force} by the !{req.force} model suffix", 1.0,
                        {"forced": True})
    try:
        sync = _SYNC.get(name)
        if sync is not None:
            return sync(req, ctx)
        return await _ASYNC[name](req, ctx)
    except Exception as exc:  # a routing bug must not kill the agent's run; the ledger shows it
        _log.exception("strategy %s failed", name)
        return Decision("local", f"strategy[{name}] failed: {type(exc).__name__}: {exc} -> local",
                        0.2, {"error": f"{type(exc).__name__}: {exc}"})


async def warm_up(name: str, ctx: StrategyContext) -> None:
    """Run-registration work: embed the kNN corpus once; refuse a classifier strategy without a
    classifier model (one clear message instead of every call silently going local)."""
    check_strategy_name(name)
    if name in ("llm-classifier", "cascade") and ctx.complete is None:
        raise ValueError(
            f"strategy {name!r} needs a classifier model: set the run's classifier backend "
            f"(models.classifier in the config)")
    if name == "embedding-knn":
        await knn.warm_up(ctx)

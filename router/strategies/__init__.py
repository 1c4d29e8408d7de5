"""Routing strategies: each picks ``local`` or ``cloud`` for one canonical request.

A strategy is a ``Strategy`` record (``base.py``): its name, the params it reads, the sides it can
reach, the helper models it needs, ``decide`` and an optional ``warm_up``. Each shipped strategy's
record sits in its own module; ``BUILTIN_STRATEGIES`` below registers them, in the order configs,
errors and reports list them, through the same ``register_strategy`` a third party calls (from a
conftest.py or a plugin) for its own. The table is here, not one registration call per module, so
importing a module registers nothing by surprise and the order is read in one place.

What the router calls:

- ``validate_params(name, params)``: merged params; ValueError naming an unknown key or bad value.
- ``split_forcing(model)``: strip a ``!local`` / ``!cloud`` suffix from a model name.
- ``await warm_up(name, ctx)``: once at run registration (embeds the kNN corpus, checks that a
  classifier is configured), so no routed call pays for it.
- ``await decide(name, req, ctx)``: the Decision for one call.

Everything else asks the record: ``get_strategy(name).sides`` / ``.needs`` / ``.params``.
Only ``llm-classifier``, ``embedding-knn`` and ``cascade`` await a model call (through
``ctx.complete`` / ``ctx.embed``, which the router records and prices).
"""
from __future__ import annotations

import logging

from pytest_arena.router.canonical import split_forcing
from pytest_arena.router.contracts import CanonicalRequest
from pytest_arena.router.strategies import classifier, controls, heuristic, knn, phase, rules
from pytest_arena.router.strategies.base import Decision, Strategy, StrategyContext
from pytest_arena.router.strategies.params import ParamSpec
from pytest_arena.router.strategies.registry import (
    get_strategy,
    param_specs,
    register_strategy,
    strategy_names,
    validate_params,
)

__all__ = [
    "BUILTIN_STRATEGIES", "Decision", "ParamSpec", "Strategy", "StrategyContext", "decide", "get_strategy",
    "param_specs", "register_strategy", "split_forcing", "strategy_names", "validate_params", "warm_up",
]

BUILTIN_STRATEGIES: tuple[Strategy, ...] = (
    controls.ALWAYS_LOCAL,
    controls.ALWAYS_CLOUD,
    rules.STRATEGY,
    heuristic.STRATEGY,
    classifier.CLASSIFIER_STRATEGY,
    knn.STRATEGY,
    classifier.CASCADE_STRATEGY,
    phase.STRATEGY,
)
for _strategy in BUILTIN_STRATEGIES:
    register_strategy(_strategy)

_log = logging.getLogger(__name__)

async def decide(name: str, req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    """Route one call. A ``!local``/``!cloud`` suffix (``req.force``) wins without running the
    strategy, so a forced call spends nothing on a classifier or an embedding."""
    strategy = get_strategy(name)
    if req.force is not None:
        return Decision(req.force, f"forced {req.force} by the !{req.force} model suffix", 1.0,
                        {"forced": True})
    try:
        decision = strategy.decide(req, ctx)
        return decision if isinstance(decision, Decision) else await decision
    except Exception as exc:  # a routing bug must not kill the agent's run; the ledger shows it
        _log.exception("strategy %s failed", name)
        return Decision("local", f"strategy[{name}] failed: {type(exc).__name__}: {exc} -> local",
                        0.2, {"error": f"{type(exc).__name__}: {exc}"})


async def warm_up(name: str, ctx: StrategyContext) -> None:
    """Run-registration work: refuse a strategy that needs a classifier without one (one clear
    message instead of every call silently going local), then the strategy's own ``warm_up``
    (embedding-knn embeds its corpus once)."""
    strategy = get_strategy(name)
    if "classifier" in strategy.needs and ctx.complete is None:
        raise ValueError(
            f"strategy {name!r} needs a classifier model: set the run's classifier backend "
            f"(models.router_classifier in the config)")
    if strategy.warm_up is not None:
        await strategy.warm_up(ctx)

"""The one table of routing strategies: ``register_strategy`` adds a record, ``get_strategy``
reads one, ``strategy_names`` lists them in registration order, and ``validate_params`` merges a
run's params over its strategy's defaults.

``pytest_arena.router.strategies`` registers the shipped strategies when it is imported; a third
party registers its own the same way, from a conftest.py or a plugin module, before the config is
loaded. The config's strategy check, the sweep (which backends, keys and helper models a cell
needs) and the router all read this table, so a registered strategy is usable wherever a shipped
one is. A record is checked when it is registered, so a mistake in it is reported at import, with
the strategy's name, and not as a routing failure in the middle of a sweep.
"""
from __future__ import annotations

import re
from typing import Any

from pytest_arena.router.strategies.base import NEEDS, SIDES, Strategy
from pytest_arena.router.strategies.params import PARAM_KINDS, ParamSpec

__all__ = ["get_strategy", "param_specs", "register_strategy", "strategy_names", "validate_params"]

# Names end up in cell keys ("|"-joined), operating-point labels ("name@param=value") and pytest ids.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RESERVED = {"none": "the sweep's name for the cells of agents that call no model (oracle, null)"}
_PARAM_KEY = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+")

_STRATEGIES: dict[str, Strategy] = {}


def register_strategy(strategy: Strategy) -> Strategy:
    """Add ``strategy`` to the table and return it. ValueError if the record is malformed or its
    name is taken by a different record (a shipped strategy cannot be replaced: rows that name it
    would then describe another router). Registering the same record again changes nothing."""
    if not isinstance(strategy, Strategy):
        raise TypeError(f"register_strategy takes a Strategy record, got {type(strategy).__name__}")
    problem = _problem(strategy)
    if problem:
        raise ValueError(f"register_strategy({strategy.name!r}): {problem}")
    _STRATEGIES[strategy.name] = strategy
    return strategy


def get_strategy(name: str) -> Strategy:
    """The record registered under ``name``; ValueError naming the known strategies otherwise."""
    strategy = _STRATEGIES.get(name)
    if strategy is None:
        raise ValueError(f"unknown routing strategy {name!r}; choose one of: {', '.join(strategy_names())}")
    return strategy


def strategy_names() -> tuple[str, ...]:
    """Every registered name, the shipped strategies first, in registration order."""
    return tuple(_STRATEGIES)


def param_specs() -> dict[str, ParamSpec]:
    """Every param some registered strategy reads, by dotted name."""
    specs: dict[str, ParamSpec] = {}
    for strategy in _STRATEGIES.values():
        specs.update(strategy.params)
    return specs


def validate_params(name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Merge ``params`` over the strategy's defaults; raise ValueError naming a bad key or value."""
    strategy = get_strategy(name)
    merged = strategy.defaults()
    for key, value in (params or {}).items():
        spec = strategy.params.get(key)
        if spec is None:
            known = param_specs()
            if key not in known:
                raise ValueError(
                    f"unknown strategy param {key!r} (strategy {name!r}); known params: "
                    f"{', '.join(sorted(known))}")
            users = [other for other in strategy_names() if key in get_strategy(other).params]
            raise ValueError(
                f"strategy param {key!r} does not apply to strategy {name!r}; it is read by: "
                f"{', '.join(users)}")
        merged[key] = spec.check(key, value)
    return merged


def _problem(strategy: Strategy) -> str | None:
    """What is wrong with a record, in one sentence with the fix, or None."""
    name = strategy.name
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "a name is letters, digits, '.', '_' and '-', starting with a letter or digit"
    if name in _RESERVED:
        return f"{name!r} is reserved: it is {_RESERVED[name]}; choose another name"
    existing = _STRATEGIES.get(name)
    if existing is not None and existing != strategy:
        where = getattr(existing.decide, "__module__", "?")
        return f"another strategy of this name is already registered (its decide is in {where}); choose another name"
    if not callable(strategy.decide):
        return "decide must be a function (request, context) -> Decision, or a coroutine function"
    if strategy.warm_up is not None and not callable(strategy.warm_up):
        return "warm_up must be a coroutine function (context) -> None, or None"
    if not strategy.sides or len(set(strategy.sides)) != len(strategy.sides) or not set(strategy.sides) <= set(SIDES):
        return f"sides must list the sides it can route to, each once, from {SIDES}; got {strategy.sides!r}"
    if not strategy.needs <= set(NEEDS):
        return f"needs may hold only {NEEDS}; got {sorted(strategy.needs)!r}"
    return _params_problem(strategy)


def _params_problem(strategy: Strategy) -> str | None:
    declared = param_specs()
    for key, spec in strategy.params.items():
        if not isinstance(key, str) or not _PARAM_KEY.fullmatch(key):
            return f"param {key!r} needs a dotted name, group.name (e.g. {strategy.name}.threshold)"
        if not isinstance(spec, ParamSpec) or spec.kind not in PARAM_KINDS:
            return f"param {key!r} must be a ParamSpec of kind {' / '.join(PARAM_KINDS)}"
        if not spec.doc:
            return f"param {key!r} needs a doc: one line saying what it changes"
        try:
            spec.check(key, spec.default)
        except ValueError as exc:
            return f"the default of {exc}"
        if key in declared and declared[key] != spec:
            return (f"param {key!r} is already declared differently by another strategy; reuse its ParamSpec "
                    f"or name yours in a group of your own")
    return None

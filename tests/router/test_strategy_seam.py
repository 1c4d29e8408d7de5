"""The Strategy seam: one record per strategy, one registry, and everything reads the record.

A toy strategy registered here (the registry restored after each test) gets its params merged and
checked, its classifier need enforced, its warm-up run and its decide called, sync or async; a
record that would break the harness (a taken or reserved name, a side that does not exist, a param
without a doc) is refused at registration, naming the strategy and the fix.
"""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from pytest_arena.router.contracts import CanonicalRequest, Message
from pytest_arena.router.strategies import (
    Decision,
    ParamSpec,
    Strategy,
    StrategyContext,
    decide,
    get_strategy,
    register_strategy,
    strategy_names,
    validate_params,
    warm_up,
)
from pytest_arena.router.strategies import registry as strategy_registry
from pytest_arena.router.strategies.params import HEURISTIC


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by the test are gone after it (the schema and the name list stay the shipped ones)."""
    monkeypatch.setattr(strategy_registry, "_STRATEGIES", dict(strategy_registry._STRATEGIES))


def _request(text: str = "hello") -> CanonicalRequest:
    return CanonicalRequest(protocol="openai-chat", model="m", messages=[Message("user", text)], stream=False)


async def _ask_small_model(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    await asyncio.sleep(0)
    return Decision("local", f"asker: max {ctx.params['asker.max_words']} words", 0.9)


async def _remember_warm_up(ctx: StrategyContext) -> None:
    ctx.state["warmed"] = ctx.state.get("warmed", 0) + 1


ASKER = Strategy("asker", _ask_small_model, sides=("local",), needs=frozenset({"classifier"}),
                 params={"asker.max_words": ParamSpec(3, "int", 1, "words the small model may answer")},
                 warm_up=_remember_warm_up)


def test_a_registered_strategy_is_listed_after_the_shipped_ones_and_read_from_its_record(registry):
    assert register_strategy(ASKER) is ASKER
    assert register_strategy(ASKER) is ASKER  # the same record again changes nothing
    assert strategy_names()[-1] == "asker" and strategy_names()[0] == "always-local"
    record = get_strategy("asker")
    assert (record.sides, record.needs, record.param_groups) == (("local",), {"classifier"}, ("asker",))
    assert validate_params("asker", {}) == {"asker.max_words": 3}
    with pytest.raises(ValueError, match="'asker.max_words' must be >= 1, got 0"):
        validate_params("asker", {"asker.max_words": 0})
    with pytest.raises(ValueError, match="'asker.max_words' does not apply to strategy 'heuristic'.*read by: asker"):
        validate_params("heuristic", {"asker.max_words": 2})


def test_the_router_runs_its_warm_up_its_needs_and_its_async_decide(registry):
    register_strategy(ASKER)
    ctx = StrategyContext(params=validate_params("asker", {"asker.max_words": 5}))
    with pytest.raises(ValueError, match="strategy 'asker' needs a classifier model.*models.router_classifier"):
        asyncio.run(warm_up("asker", ctx))

    async def complete(req: CanonicalRequest) -> None:
        raise AssertionError("not called by this strategy")

    ctx.complete = complete  # type: ignore[assignment]
    asyncio.run(warm_up("asker", ctx))
    assert ctx.state["warmed"] == 1
    decision = asyncio.run(decide("asker", _request(), ctx))
    assert (decision.choice, decision.reason) == ("local", "asker: max 5 words")


def test_a_strategy_that_raises_routes_local_and_says_why(registry):
    def broken(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
        raise KeyError("no such param")

    register_strategy(Strategy("broken", broken))
    decision = asyncio.run(decide("broken", _request(), StrategyContext(params={})))
    assert decision.choice == "local" and decision.reason.startswith("strategy[broken] failed: KeyError")


def _always_local(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    return Decision("local", "toy", 1.0)


TOY = Strategy("toy", _always_local)


@pytest.mark.parametrize(("record", "message"), [
    (replace(TOY, name="heuristic"), r"register_strategy\('heuristic'\): another strategy of this name is already "
                                     r"registered \(its decide is in pytest_arena.router.strategies.heuristic\)"),
    (replace(TOY, name="none"), r"'none' is reserved: it is the sweep's name for the cells of agents that call no"),
    (replace(TOY, name="my|strategy"), "a name is letters, digits"),
    (replace(TOY, sides=("local", "sideways")), r"sides must list the sides it can route to.*'sideways'"),
    (replace(TOY, sides=()), "sides must list the sides it can route to"),
    (replace(TOY, needs=frozenset({"gpu"})), "needs may hold only"),
    (replace(TOY, params={"threshold": ParamSpec(1, "int", 0, "a doc")}), r"param 'threshold' needs a dotted name"),
    (replace(TOY, params={"toy.k": ParamSpec(1, "int", 0, "")}), r"param 'toy.k' needs a doc"),
    (replace(TOY, params={"toy.k": ParamSpec(0, "int", 1, "k")}), r"the default of strategy param 'toy.k' must be >= "),
    (replace(TOY, params={"heuristic.threshold": replace(HEURISTIC["heuristic.threshold"], default=99)}),
     r"param 'heuristic.threshold' is already declared differently by another strategy"),
])
def test_a_record_that_would_break_the_harness_is_refused_when_registered(registry, record, message):
    with pytest.raises(ValueError, match=message):
        register_strategy(record)
    assert record.name not in strategy_names() or record.name == "heuristic"


def test_a_strategy_may_read_a_shipped_group_by_sharing_its_specs(registry):
    register_strategy(replace(TOY, name="careful", params={"careful.margin": ParamSpec(2, "number", 0, "margin")}
                              | HEURISTIC))
    assert get_strategy("careful").param_groups == ("careful", "heuristic")
    assert validate_params("careful", {"heuristic.threshold": 9})["heuristic.threshold"] == 9
    with pytest.raises(ValueError, match=r"read by: heuristic, cascade, careful"):
        validate_params("rules", {"heuristic.threshold": 9})


def test_an_unknown_name_lists_every_registered_strategy(registry):
    register_strategy(TOY)
    with pytest.raises(ValueError, match=r"unknown routing strategy 'tyo'; choose one of: always-local, .*, toy$"):
        get_strategy("tyo")

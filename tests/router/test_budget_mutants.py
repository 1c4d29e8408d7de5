"""Budget caps at their exact edge, and the registration checks around them (benchmarks/mutation.py
found these edges unchecked: a cap that let one more call through at exactly its value, a run id
registered twice, an unpriced model refused without a budget)."""
from __future__ import annotations

import httpx
import pytest

from pytest_arena.router.contracts import BackendSpec, RunSpec
from pytest_arena.router.errors import ConfigError
from pytest_arena.router.pricing import load_pricing
from pytest_arena.router.service import RouterSettings, start_router

HI = [{"role": "user", "content": "hi"}]
GPT_CALL_COST = load_pricing().cost("gpt-5.5", 11, 7)  # one fake upstream call (see test_ledger_and_budget)


def _sides(upstream) -> tuple[BackendSpec, BackendSpec]:
    """The fake upstream as the local (Ollama) and the cloud (OpenAI gpt-5.5) side."""
    return (BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url),
            BackendSpec(kind="openai", model="gpt-5.5", label="openai/gpt-5.5", base_url=upstream.base_url))


def _eight_at_once(ep) -> list[int]:
    """Eight calls of one run sent together: their status codes, sorted."""
    import asyncio

    async def main():
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.post(ep.openai_base + "/chat/completions", json={"messages": HI},
                                                      headers={"Authorization": f"Bearer {ep.api_key}"})
                                          for _ in range(8)))

    return sorted(r.status_code for r in asyncio.run(main()))


def _post(ep, model=None):
    body = {"messages": HI, **({"model": model} if model else {})}
    return httpx.post(ep.openai_base + "/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {ep.api_key}"}).status_code


def test_a_cell_budget_of_exactly_one_call_admits_one_call(make_run, router):
    spec, ep = make_run("always-cloud", cell_budget_usd=GPT_CALL_COST)
    assert [_post(ep) for _ in range(3)] == [200, 402, 402]
    totals = router.finish_run(spec.run_id)
    assert totals.statuses == {"ok": 1, "budget_exceeded": 2}
    assert totals.cost_usd == pytest.approx(GPT_CALL_COST)


def test_a_cell_budget_just_above_two_calls_admits_three(make_run, router):
    spec, ep = make_run("always-cloud", cell_budget_usd=GPT_CALL_COST * 2.01)
    assert [_post(ep) for _ in range(4)] == [200, 200, 200, 402]
    router.finish_run(spec.run_id)


def test_a_session_budget_of_exactly_two_calls_admits_two_across_runs(upstream):
    with start_router(RouterSettings(session_budget_usd=GPT_CALL_COST * 2)) as router:
        local, cloud = _sides(upstream)
        codes = []
        for run_id in ("a", "b", "c"):
            ep = router.register_run(RunSpec(run_id=run_id, strategy="always-cloud", local=local, cloud=cloud))
            codes.append(_post(ep))
            router.finish_run(run_id)
        assert codes == [200, 200, 402]
        assert router.session_cost_usd == pytest.approx(2 * GPT_CALL_COST)


def test_no_budget_means_no_cap(make_run, router):
    spec, ep = make_run("always-cloud")
    assert [_post(ep) for _ in range(3)] == [200, 200, 200]
    assert router.finish_run(spec.run_id).cost_usd == pytest.approx(3 * GPT_CALL_COST)


def test_local_calls_cost_nothing_and_are_never_refused_by_a_spent_budget(make_run, router):
    spec, ep = make_run("always-local", cell_budget_usd=GPT_CALL_COST)
    assert [_post(ep) for _ in range(3)] == [200, 200, 200]
    totals = router.finish_run(spec.run_id)
    assert totals.cost_usd == 0 and totals.statuses == {"ok": 3}


def test_a_run_id_registered_twice_is_refused(make_run, router, upstream):
    spec, _ = make_run("always-local")
    with pytest.raises(ConfigError, match="already registered"):
        router.register_run(spec)
    router.finish_run(spec.run_id)


def test_an_unpriced_cloud_model_without_a_budget_registers_and_costs_nothing(router, upstream):
    spec = RunSpec(run_id="unpriced-no-budget", strategy="always-cloud",
                   local=BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url),
                   cloud=BackendSpec(kind="openai", model="mystery-model", label="openai/mystery",
                                     base_url=upstream.base_url))
    ep = router.register_run(spec)
    assert _post(ep) == 200
    assert router.finish_run(spec.run_id).cost_usd == 0


def test_a_session_budget_with_an_unpriced_cloud_model_is_refused_at_registration(upstream):
    with start_router(RouterSettings(session_budget_usd=1.0)) as router:
        spec = RunSpec(run_id="unpriced", strategy="always-cloud",
                       local=BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url),
                       cloud=BackendSpec(kind="openai", model="mystery-model", label="openai/mystery",
                                         base_url=upstream.base_url))
        with pytest.raises(ConfigError, match="has no price"):
            router.register_run(spec)


def test_each_run_gets_its_own_unguessable_token(make_run, router):
    runs = [make_run("always-local") for _ in range(2)]
    tokens = [ep.api_key for _, ep in runs]
    assert tokens[0] != tokens[1]
    assert all(t.startswith("sk-arena-") and len(t) >= len("sk-arena-") + 32 for t in tokens)
    for spec, _ in runs:
        router.finish_run(spec.run_id)


def test_concurrent_calls_against_a_cap_of_exactly_two_calls_spend_exactly_two(make_run, router):
    """Eight calls at once: the caps admit a call beside those in flight only if all of them fit at
    the dearest price so far, so none crosses a cap that two calls exactly fill."""
    spec, ep = make_run("always-cloud", cell_budget_usd=GPT_CALL_COST * 2)

    codes = _eight_at_once(ep)
    totals = router.finish_run(spec.run_id)
    assert codes == [200, 200] + [402] * 6
    assert totals.cost_usd == pytest.approx(2 * GPT_CALL_COST)


def test_a_fresh_routers_first_concurrent_calls_against_a_session_cap_spend_exactly_the_cap(upstream):
    """Before any call is priced, calls go one at a time; a session cap then holds like a cell cap."""
    with start_router(RouterSettings(session_budget_usd=GPT_CALL_COST * 2)) as router:
        local, cloud = _sides(upstream)
        ep = router.register_run(RunSpec(run_id="s", strategy="always-cloud", local=local, cloud=cloud))

        codes = _eight_at_once(ep)
        router.finish_run("s")
        assert codes == [200, 200] + [402] * 6
        assert router.session_cost_usd == pytest.approx(2 * GPT_CALL_COST)


def test_the_output_meter_counts_the_upstreams_number_else_an_estimate_that_errs_low():
    from pytest_arena.router.contracts import TextDelta, ToolCallDelta, Usage
    from pytest_arena.router.meter import OutputMeter

    meter = OutputMeter()
    for piece in ["a", "", "b", "c"]:  # one token a piece; an empty piece is none
        meter.add(TextDelta(piece))
    assert meter.tokens() == 3
    assert meter.at_least(3) and not meter.at_least(4)
    meter.add(TextDelta("x" * 60))  # one piece of many tokens: the characters tell (6 a token)
    assert meter.tokens() == 63 // 6 == 10
    meter.add(ToolCallDelta(index=0, name="edit", arguments="y" * 20))
    assert (meter.pieces, meter.chars) == (5, 87)
    assert meter.tokens() == 14
    meter.add(Usage(completion=0))  # a usage chunk without a count changes nothing
    assert meter.tokens() == 14
    meter.add(Usage(completion=7))  # the upstream's own count wins, even when lower
    assert meter.tokens() == 7 and meter.at_least(7) and not meter.at_least(8)

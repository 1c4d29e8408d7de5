"""Budget caps, the JSONL ledger, the router's own calls, and load: every call recorded exactly once."""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import aiohttp
import anthropic
import httpx
import ollama
import openai
import pytest
from fake_upstreams import TEXT

from pytest_arena.router.contracts import BackendSpec, LedgerRecord, RunSpec
from pytest_arena.router.pricing import load_pricing
from pytest_arena.router.service import RouterSettings, start_router

HI = [{"role": "user", "content": "hi"}]
# what one fake call costs: 11 prompt tokens (3 of them cached, priced as uncached input unless
# RunSpec.prompt_cache) and 7 completion tokens
GPT_CALL_COST = load_pricing().cost("gpt-5.5", 11, 7)


def _auth(ep) -> dict[str, str]:
    return {"Authorization": f"Bearer {ep.api_key}"}


def test_cell_budget_refuses_the_next_cloud_call_in_every_protocol(make_run, router):
    spec, ep = make_run("always-cloud", cell_budget_usd=GPT_CALL_COST / 2)
    oa = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)
    assert oa.chat.completions.create(model=ep.model, messages=HI).choices[0].message.content == TEXT
    with pytest.raises(openai.APIStatusError, match="cloud budget exhausted for this cell") as err:
        oa.chat.completions.create(model=ep.model, messages=HI, stream=True)
    assert err.value.status_code == 402
    with pytest.raises(anthropic.APIStatusError, match="cloud budget exhausted"):
        anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key, max_retries=0).messages.create(
            model=ep.model, max_tokens=10, messages=HI)
    with pytest.raises(ollama.ResponseError, match="cloud budget exhausted"):
        ollama.Client(host=ep.ollama_base, headers=_auth(ep)).chat(model=ep.model, messages=HI, stream=False)
    local = oa.chat.completions.create(model="x!local", messages=HI)  # local calls are never capped
    assert local.choices[0].message.content == TEXT
    totals = router.finish_run(spec.run_id)
    assert totals.statuses == {"ok": 2, "budget_exceeded": 3}
    assert totals.cost_usd == pytest.approx(GPT_CALL_COST)  # over the cap by at most one call


def test_session_budget_spans_runs(upstream, tmp_path):
    with start_router(RouterSettings(session_budget_usd=GPT_CALL_COST * 1.5)) as router:
        local = BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url)
        cloud = BackendSpec(kind="openai", model="gpt-5.5", label="openai/gpt-5.5", base_url=upstream.base_url)
        codes = []
        for run_id in ("a", "b", "c"):
            ep = router.register_run(RunSpec(run_id=run_id, strategy="always-cloud", local=local, cloud=cloud))
            codes.append(httpx.post(ep.openai_base + "/chat/completions", headers=_auth(ep),
                                    json={"messages": HI}).status_code)
            router.finish_run(run_id)
        assert codes == [200, 200, 402]
        assert router.session_cost_usd == pytest.approx(2 * GPT_CALL_COST)


def test_ledger_jsonl_has_one_line_per_call_with_every_field(upstream, tmp_path):
    path = tmp_path / "ledger.jsonl"
    with start_router(RouterSettings(ledger_path=path)) as router:
        local = BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url)
        cloud = BackendSpec(kind="anthropic", model="claude-sonnet-4-6", label="anthropic/sonnet",
                            base_url=upstream.base_url)
        ep = router.register_run(RunSpec(run_id="led", strategy="always-local", local=local, cloud=cloud,
                                         prompt_cache=True))
        client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
        client.chat.completions.create(model="m", messages=HI)
        list(client.chat.completions.create(model="m!cloud", messages=HI, stream=True))
        totals = router.finish_run("led")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [0, 1]
    assert set(lines[0]) == set(LedgerRecord.__dataclass_fields__)
    local_rec, cloud_rec = lines
    assert ((local_rec["choice"], local_rec["backend"], local_rec["model"], local_rec["stream"])
            == ("local", "ollama/q", "q:1", False))
    assert ((cloud_rec["choice"], cloud_rec["forced"], cloud_rec["model"], cloud_rec["stream"])
            == ("cloud", "cloud", "claude-sonnet-4-6", True))
    assert cloud_rec["prompt_tokens"] == 11 and cloud_rec["cached_tokens"] == 3 and cloud_rec["completion_tokens"] == 7
    assert cloud_rec["cost_usd"] == pytest.approx(load_pricing().cost("claude-sonnet-4-6", 11, 7, 3))
    assert local_rec["cost_usd"] == 0 and local_rec["reason"] == "control: always-local"
    assert totals.local_calls == 1 and totals.cloud_calls == 1 and totals.cloud_prompt == 11


def test_classifier_and_embedding_calls_are_recorded_and_priced(make_run, router, upstream):
    spec, ep = make_run("llm-classifier", classifier=BackendSpec(
        kind="openai", model="gpt-5-nano", label="openai/classifier", base_url=upstream.base_url))
    resp = httpx.post(ep.openai_base + "/chat/completions", headers=_auth(ep),
                      json={"messages": [{"role": "user", "content": "design it"}]})
    assert resp.headers["x-arena-choice"] == "cloud"  # the classifier said COMPLEX
    totals = router.finish_run(spec.run_id)
    purposes = sorted((r.purpose, r.seq) for r in totals.records)
    assert purposes == [("agent", 0), ("classifier", 1)]
    classifier = next(r for r in totals.records if r.purpose == "classifier")
    assert classifier.choice == "cloud"
    assert classifier.cost_usd == pytest.approx(load_pricing().cost("gpt-5-nano", 11, 7))
    agent = next(r for r in totals.records if r.purpose == "agent")
    assert agent.decide_ms >= classifier.upstream_ms > 0

    spec, ep = make_run("embedding-knn", embedder=BackendSpec(
        kind="ollama", model="nomic-embed-text:latest", label="ollama/nomic", base_url=upstream.base_url))
    embeds_at_registration = len(upstream.bodies("nomic-embed-text:latest"))
    assert embeds_at_registration == 1  # the corpus, embedded once by warm_up, not on the first call
    httpx.post(ep.openai_base + "/chat/completions", headers=_auth(ep), json={"messages": HI})
    totals = router.finish_run(spec.run_id)
    assert [r.purpose for r in sorted(totals.records, key=lambda r: r.seq)] == ["embedding", "agent", "embedding"]
    assert all(r.status == "ok" and r.prompt_tokens > 0 for r in totals.records)


def test_finish_run_waits_for_the_call_in_flight(make_run, router, upstream):
    from pytest_arena.router.contracts import LocalGuards

    spec, ep = make_run("always-local", local=("ollama", "hang-w:1"), guards=LocalGuards(wall_timeout_s=1.0))
    caller = threading.Thread(target=lambda: httpx.post(ep.openai_base + "/chat/completions", headers=_auth(ep),
                                                       json={"messages": HI, "stream": True}, timeout=10))
    before = len(upstream.requests)
    caller.start()
    deadline = time.monotonic() + 5  # finish the run once its call reached the upstream, however loaded the machine
    while len(upstream.requests) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(upstream.requests) > before, "the call never reached the upstream"
    totals = router.finish_run(spec.run_id, timeout_s=5)
    caller.join()
    assert totals.statuses == {"timeout": 1}


@pytest.fixture
def unbounded_router(tmp_path):
    """A router without the per-run cap on calls in flight (RouterSettings.max_inflight_per_run,
    16 by default: tests/router/test_bounds.py), to load one run with many at once."""
    handle = start_router(RouterSettings(ledger_path=tmp_path / "ledger.jsonl", max_inflight_per_run=None))
    yield handle
    handle.close()


def test_200_concurrent_streams_zero_errors_each_recorded_once(make_run, unbounded_router):
    router = unbounded_router
    spec, ep = make_run("always-cloud", cloud=("openai", "gpt-5.5"), cloud_kw={"max_concurrency": 16}, handle=router)

    async def one(session, i):
        body = {"model": ep.model, "stream": True, "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": f"call {i}"}]}
        async with session.post(ep.openai_base + "/chat/completions", headers=_auth(ep), json=body) as resp:
            assert resp.status == 200
            pieces = [json.loads(line[6:])["choices"][0]["delta"].get("content", "")
                      async for line in resp.content if line.startswith(b"data: {") and b'"choices":[{' in line]
            return "".join(pieces)

    async def main():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            return await asyncio.gather(*(one(session, i) for i in range(200)))

    texts = asyncio.run(main())
    assert texts == [TEXT] * 200
    totals = router.finish_run(spec.run_id)
    assert totals.calls == 200 and totals.statuses == {"ok": 200}
    assert sorted(r.seq for r in totals.records) == list(range(200))
    lines = [json.loads(line) for line in router.ledger_path.read_text().splitlines()]
    assert sorted(line["seq"] for line in lines if line["run_id"] == spec.run_id) == list(range(200))


def test_scripted_backend_through_the_router_and_headers_off(upstream, tmp_path):
    from pytest_arena.router.contracts import ScriptedPlan

    with start_router(RouterSettings(routing_headers=False)) as router:
        scripted = BackendSpec(kind="scripted", model="scripted", label="scripted")
        ep = router.register_run(RunSpec(run_id="s", strategy="always-local", local=scripted, cloud=scripted,
                                         scripted=ScriptedPlan(files={"hello.txt": "hi\n"}, workspace=str(tmp_path))))
        tool = {"type": "function", "function": {"name": "write_file", "parameters": {
            "type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}}}
        raw = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key).chat.completions.with_raw_response.create(
            model=ep.model, messages=[{"role": "user", "content": "write hello.txt"}], tools=[tool])
        call = raw.parse().choices[0].message.tool_calls[0]
        assert call.function.name == "write_file"
        assert json.loads(call.function.arguments) == {"path": str(tmp_path / "hello.txt"), "content": "hi\n"}
        assert not any(name.startswith("x-arena") for name in raw.headers)
        totals = router.finish_run("s")
    assert totals.statuses == {"ok": 1} and totals.records[0].backend == "scripted"


def test_python_m_router_serves_the_default_run_unprefixed(upstream, tmp_path):
    ledger = tmp_path / "l.jsonl"
    with upstream.standalone_router("--ledger", str(ledger)) as proc:
        base = proc.stdout.readline().split(" on ")[1].split()[0]
        resp = httpx.post(base + "/v1/chat/completions", json={"model": "m", "messages": HI}, timeout=10)
        assert resp.json()["choices"][0]["message"]["content"] == TEXT
        assert httpx.post(base + "/run/default/api/chat", json={"model": "m", "messages": HI, "stream": False}
                          ).json()["message"]["content"] == TEXT


def test_concurrent_cloud_calls_overshoot_the_cap_by_at_most_one_call(make_run, router):
    spec, ep = make_run("always-cloud", cell_budget_usd=GPT_CALL_COST * 2.5)

    async def main():
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.post(ep.openai_base + "/chat/completions", headers=_auth(ep),
                                                      json={"messages": HI})
                                          for _ in range(8)))

    codes = sorted(r.status_code for r in asyncio.run(main()))
    totals = router.finish_run(spec.run_id)
    assert codes == [200, 200, 200] + [402] * 5
    assert totals.cost_usd == pytest.approx(3 * GPT_CALL_COST)  # crossed the cap with exactly one call


def test_an_unpriced_served_alias_is_charged_at_the_configured_models_price(make_run, router, caplog):
    # The upstream answers for "gpt-5.5-aliased" (priced as gpt-5.5) naming "vendor-alias-7", which
    # no price table has: the charge must still count, or budget.cell_usd never trips.
    from fake_upstreams import ALIAS

    caplog.set_level(logging.WARNING, logger="pytest_arena.router.budget")
    spec, ep = make_run("always-cloud", cloud=("openai", "gpt-5.5-aliased"), cell_budget_usd=GPT_CALL_COST * 1.5)
    codes = [_post_chat(ep).status_code for _ in range(3)]
    totals = router.finish_run(spec.run_id)
    assert codes == [200, 200, 402]
    assert totals.cost_usd == pytest.approx(2 * GPT_CALL_COST)
    charged = [r for r in totals.records if r.status == "ok"]
    assert [(r.model, r.backend, r.priced_as) for r in charged] == [(ALIAS, "openai/gpt-5.5-aliased", "gpt-5.5")] * 2
    warnings = [r.getMessage() for r in caplog.records if ALIAS in r.getMessage()]
    assert len(warnings) == 1 and "gpt-5.5" in warnings[0]  # once per unpriced served name, not per call


def test_a_priced_served_name_is_charged_at_its_own_price(make_run, router):
    spec, ep = make_run("always-cloud", cloud=("anthropic", "claude-sonnet-4-6"))
    _post_chat(ep)
    (rec,) = router.finish_run(spec.run_id).records
    assert rec.priced_as == "claude-sonnet-4-6"
    assert rec.cost_usd == pytest.approx(load_pricing().cost("claude-sonnet-4-6", 11, 7))


def test_a_budget_with_an_unpriced_cloud_model_is_refused_at_registration(router, upstream):
    from pytest_arena.router.errors import ConfigError

    spec = RunSpec(run_id="unpriced", strategy="always-cloud", cell_budget_usd=1.0,
                   local=BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url),
                   cloud=BackendSpec(kind="openai", model="mystery-model", label="openai/mystery",
                                     base_url=upstream.base_url))
    with pytest.raises(ConfigError, match="'mystery-model' has no price in .*pricing.json"):
        router.register_run(spec)


def _post_chat(ep):
    return httpx.post(ep.openai_base + "/chat/completions", headers=_auth(ep), json={"messages": HI}, timeout=30)

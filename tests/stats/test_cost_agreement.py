"""One cost per cell: rows from real pytest sessions (real router, real ledger, fake upstreams
speaking the OpenAI wire protocol and reporting cached tokens on local and cloud calls alike),
re-priced under the scenario their ledger priced them as, cost what the ledger says."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from pytest_arena.analysis.stats.observations import observe
from pytest_arena.analysis.stats.repricing import row_cost
from pytest_arena.router.pricing import load_pricing
from tests.core.arena_project import TEST_AGENTS_CONFTEST, make_config, make_task

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "router"))
from fake_upstreams import USAGE, FakeUpstream  # noqa: E402

CHATTER = '''

import json
import urllib.request


class Chatter(_Builtin):
    """An LLM agent that makes real calls through its router link: local, cloud and routed ones,
    then writes the reference solution."""
    name = "chatter"
    uses_llm = True

    def run(self, ctx):
        for suffix in ("", "!local", ""):
            body = json.dumps({"model": ctx.endpoints.model + suffix,
                               "messages": [{"role": "user", "content": "add two numbers"}]}).encode()
            request = urllib.request.Request(
                ctx.endpoints.openai_base + "/chat/completions", data=body,
                headers={"Content-Type": "application/json", "Authorization": "Bearer " + ctx.endpoints.api_key})
            urllib.request.urlopen(request, timeout=30).read()
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        return AgentResult(exit_code=0, duration_s=0.0)


register_agent("chatter", Chatter)
'''


@pytest.fixture
def upstream():
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


def ledger_records(out: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((out / "ledger").glob("*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize(("cloud", "prompt_cache"), [("gpt-5.5", False), ("gpt-5.5", True), ("scripted", False)])
def test_repricing_under_the_ledgers_own_scenario_is_the_ledger_cost(pytester, upstream, monkeypatch,
                                                                     cloud, prompt_cache):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    make_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST + CHATTER)
    make_config(pytester.path, agents=("chatter",), strategies=("always-local", "always-cloud", "heuristic"),
                extra=f"router: {{prompt_cache: {str(prompt_cache).lower()}}}\n")
    config = pytester.path / "arena.yaml"
    config.write_text(config.read_text().replace(
        "models: {cloud: scripted, local: embedded/smollm2-135m}",
        f"models: {{cloud: {cloud}, local: openai/fake-local, local_base_url: '{upstream.base_url}/v1', "
        f"cloud_base_url: '{upstream.base_url}/v1'}}"))
    result = pytester.runpytest("--arena-config", "arena.yaml", "--arena-set", "sandbox.agents=none")
    result.assert_outcomes(passed=3)
    out = pytester.path / "results" / "demo"
    rows = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines()]
    records = ledger_records(out)
    table = load_pricing()
    scenario_of = {model: name for name, model in table.scenarios.items()}

    # the data exercise the bug: local calls report cached tokens, and so do the fake cloud's
    assert all(r["tokens"]["cached"] > r["tokens"]["cloud_cached"] for r in rows if r["routing"]["local_calls"])
    if cloud != "scripted":
        assert any(r["tokens"]["cloud_cached"] == USAGE["cached"] * r["routing"]["cloud_calls"] > 0 for r in rows)
    assert any(r["cost_usd"] > 0 for r in rows) and any(r["routing"]["cloud_calls"] == 0 for r in rows)
    for row in rows:
        priced_as = {rec["priced_as"] for rec in records if rec["run_id"] == row["run_id"] and rec["priced_as"]}
        assert len(priced_as) <= 1
        scenario = scenario_of[priced_as.pop()] if priced_as else "openai-gpt5.5"
        repriced = row_cost(table, scenario, observe(row, "row").tokens)
        assert repriced == pytest.approx(row["cost_usd"], abs=1e-8), (row["router_strategy"], scenario)

    # and the reports agree: the primary scenario's column is the ledger's cost, cell by cell
    aggregate = json.loads((out / "aggregate.json").read_text())
    with (out / "cost_by_scenario.csv").open() as handle:
        priced = {(r["strategy"], r["scenario"]): float(r["cost_total_usd"]) for r in csv.DictReader(handle)}
    for cell in aggregate["cells"].values():
        assert priced[(cell["strategy"], "openai-gpt5.5")] == pytest.approx(cell["cost_usd"]["total"], abs=1e-6)

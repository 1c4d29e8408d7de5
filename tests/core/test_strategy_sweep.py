"""A strategy registered from outside the package is a strategy like the shipped ones: a project's
conftest.py registers ``coin`` (every n-th call local, the others cloud, n swept), a real pytest
run (pytester, with xdist workers) sweeps it, and the rows and each cell's calls show it routing.
A config naming a strategy nobody registered is refused in one line that lists the known names."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_arena.errors import ConfigError
from pytest_arena.sweep.config.loading import load_config

from .arena_project import TEST_AGENTS_CONFTEST, make_task

COIN_CONFTEST = '''

import json as _json
import urllib.request as _request

from pytest_arena.router.strategies import Decision, ParamSpec, Strategy, register_strategy


def coin(req, ctx):
    """Call 0, n, 2n, ... of a run goes local, every other call to the cloud."""
    number = ctx.state.get("coin.calls", 0)
    ctx.state["coin.calls"] = number + 1
    side = "local" if number % ctx.params["coin.every"] == 0 else "cloud"
    return Decision(side, f"coin: call {number} -> {side}", 1.0)


register_strategy(Strategy(
    "coin", coin, params={"coin.every": ParamSpec(2, "int", 1, "every n-th call of a run goes local")}))


class Thrice(Caller):
    """Three chats through the run's router, then the reference files."""
    name = "thrice"

    def run(self, ctx):
        for turn in range(3):
            body = _json.dumps({"model": ctx.endpoints.model,
                                "messages": [{"role": "user", "content": f"{ctx.prompt} (turn {turn})"}]})
            req = _request.Request(ctx.endpoints.openai_base + "/chat/completions", data=body.encode(),
                                   headers={"Authorization": f"Bearer {ctx.endpoints.api_key}",
                                            "Content-Type": "application/json"})
            with _request.urlopen(req, timeout=30) as response:
                response.read()
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        return AgentResult(exit_code=0, duration_s=0.0)


register_agent(Thrice.name, Thrice)
'''

CONFIG = """\
variant_tag: demo
out_dir: results/demo
models: {cloud: scripted, local: scripted}
benchmark:
  task_classes: [puzzles]
  agents: [thrice, oracle]
  seeds: [42]
  strategies: [{coin: {every: [2, 3]}}]
analysis: {resamples: 200, charts: false}
"""


def test_a_strategy_registered_in_a_conftest_is_swept_and_routes_every_call(pytester: pytest.Pytester):
    make_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST + COIN_CONFTEST)
    (pytester.path / "arena.yaml").write_text(CONFIG)

    listed = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "--collect-only", "-q")
    assert {line for line in listed.outlines if "::" in line} == {
        "arena.yaml::demo/adder[thrice-coin@every=2-s42]", "arena.yaml::demo/adder[thrice-coin@every=3-s42]",
        "arena.yaml::demo/adder[oracle-s42]"}

    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-n", "2")
    result.assert_outcomes(passed=3)
    out = pytester.path / "results" / "demo"
    rows = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines() if line.strip()]
    coin_rows = {row["router_strategy"]: row for row in rows if row["route"] == "thrice"}
    assert set(coin_rows) == {"coin@every=2", "coin@every=3"}
    expected = {"coin@every=2": ["local", "cloud", "local"], "coin@every=3": ["local", "cloud", "cloud"]}
    for point, row in coin_rows.items():
        assert row["outcome"] == "pass" and row["strategy_params"] == {"coin.every": int(point[-1])}
        calls = [json.loads(line) for line in (out / row["output_ref"] / "calls.jsonl").read_text().splitlines()]
        assert [call["choice"] for call in calls] == expected[point], point
        assert {call["strategy"] for call in calls} == {"coin"}
        reasons = [f"coin: call {n} -> {side}" for n, side in enumerate(expected[point])]
        assert [call["reason"] for call in calls] == reasons


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "arena.yaml"
    path.write_text("variant_tag: t\nout_dir: r\nmodels: {cloud: scripted, local: scripted}\n" + text)
    return path


@pytest.mark.parametrize(("section", "field", "where"), [
    ("router: {strategy: coin}\n", "router.strategy", ""),
    ("benchmark: {strategies: [heuristic, coin]}\n", "benchmark.strategies", "entry 2: "),
])
def test_a_config_naming_an_unregistered_strategy_is_refused_with_the_known_names(tmp_path, section, field, where):
    path = _config(tmp_path, section)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: invalid config: field '{field}': {where}unknown strategy 'coin'; choose one of: always-local, "
        "always-cloud, rules, heuristic, llm-classifier, embedding-knn, cascade, phase-aware")

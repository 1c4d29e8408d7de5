"""Strategy parameter sweeps through real pytest runs: one readable cell per value, selectable
with -k, recorded in the row; and the dry-run plan, which runs nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from .arena_project import TEST_AGENTS_CONFTEST, make_config, make_task

SWEEP = "always-cloud, always-local, {cascade: {threshold: [5, 15]}}"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST)
    return pytester


def _ids(result) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_each_swept_value_is_its_own_cell_with_a_readable_id(project):
    make_config(project.path, agents=("oracle", "aider"), strategies=(SWEEP,))
    ids = _ids(project.runpytest("--arena-config", "arena.yaml", "--collect-only", "-q"))
    assert ids == ["arena.yaml::demo/adder[oracle-s42]", "arena.yaml::demo/adder[aider-always-cloud-s42]",
                   "arena.yaml::demo/adder[aider-always-local-s42]",
                   "arena.yaml::demo/adder[aider-cascade@threshold=5-s42]",
                   "arena.yaml::demo/adder[aider-cascade@threshold=15-s42]"]


def test_k_selects_one_operating_point_or_the_whole_sweep(project):
    make_config(project.path, agents=("aider",), strategies=(SWEEP,))
    one = _ids(project.runpytest("--arena-config", "arena.yaml", "--co", "-q", "-k", "cascade-threshold-15"))
    assert one == ["arena.yaml::demo/adder[aider-cascade@threshold=15-s42]"]
    sweep = _ids(project.runpytest("--arena-config", "arena.yaml", "--co", "-q", "-k", "threshold"))
    assert len(sweep) == 2
    plain = _ids(project.runpytest("--arena-config", "arena.yaml", "--co", "-q", "-k", "not cascade"))
    assert plain == ["arena.yaml::demo/adder[aider-always-cloud-s42]", "arena.yaml::demo/adder[aider-always-local-s42]"]


def test_a_bad_sweep_is_one_line_naming_file_and_field(project):
    make_config(project.path, agents=("aider",), strategies=("{cascade: {treshold: [5]}}",))
    result = project.runpytest("--arena-config", "arena.yaml", "--co")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*arena.yaml: invalid config: field 'benchmark.strategies': entry 1 (cascade): "
                                 "unknown parameter 'treshold'; did you mean 'threshold'?"])
    assert "Traceback" not in result.stderr.str()


def test_the_row_records_the_operating_point_and_its_values(project, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no Ollama: the cells end as infra_error, rows still written
    make_config(project.path, agents=("caller",), strategies=("{cascade: {threshold: [5, 15]}}",))
    cfg = project.path / "arena.yaml"
    cfg.write_text(cfg.read_text().replace(
        "local: embedded/smollm2-135m", "local: 'qwen3:0.6b', local_base_url: 'http://127.0.0.1:9/v1'"))
    project.runpytest("--arena-config", "arena.yaml", "--arena-no-report")
    rows = [json.loads(line) for line in (project.path / "results/demo/raw.jsonl").read_text().splitlines()]
    assert sorted((r["router_strategy"], r["strategy_params"]["cascade.threshold"]) for r in rows) == [
        ("cascade@threshold=15", 15), ("cascade@threshold=5", 5)]
    assert {r["cell_key"].split("|")[2] for r in rows} == {"cascade@threshold=5", "cascade@threshold=15"}


def _earlier_row(task: str, cell_key: str, strategy: str) -> dict:
    return {"task_id": task, "cell_key": cell_key, "router_strategy": strategy, "outcome": "pass",
            "tokens": {"cloud_prompt": 1_000_000, "cloud_completion": 0, "cached": 0},
            "latency": {"wall_ms": 60_000}}


def test_dry_run_prints_the_plan_and_runs_nothing(project):
    make_config(project.path, agents=("oracle", "aider"), strategies=(SWEEP,),
                extra="budget: {cell_usd: 1.0, session_usd: 100}\n")
    cfg = project.path / "arena.yaml"
    cfg.write_text(cfg.read_text().replace("cloud: scripted", "cloud: gpt-5.5"))
    out = project.path / "results/demo"
    out.mkdir(parents=True)
    key = "demo/adder|aider|cascade@threshold=5|embedded/smollm2-135m|gpt-5.5|42"
    (out / "raw.jsonl").write_text(json.dumps(_earlier_row("demo/adder", key, "cascade@threshold=5")) + "\n")
    before = (out / "raw.jsonl").read_text()
    result = project.runpytest("--arena-config", "arena.yaml", "--arena-dry-run")
    assert result.ret == 0
    text = result.stdout.str()
    assert "| strategies   |       4 | always-cloud, always-local, cascade@threshold=5, cascade@threshold=15" in text
    assert "cells: 5" in text
    # 1M cloud prompt tokens priced for gpt-5.5 from the same cell; the other points use the default
    from pytest_arena.router.pricing import load_pricing

    price = load_pricing().cost("gpt-5.5", 1_000_000, 0)
    lines = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in result.outlines if line.startswith("| ")}
    assert lines["cascade@threshold=5"] == ["1", "1", "0", "0", f"{price:.4f}", "1.0 min"]
    assert lines["cascade@threshold=15"][1:4] == ["0", "0", "1"]
    assert "budget.cell_usd = $1 per cell: 1 cell(s) are projected above it" in text  # $5 > $1
    assert "budget.session_usd = $100 per session (per xdist worker): the projected" in text
    assert (out / "raw.jsonl").read_text() == before
    assert not (out / "cells").exists()
    assert "passed" not in text.splitlines()[-1]


def test_plan_command_matches_the_dry_run(project, capsys, monkeypatch):
    make_config(project.path, agents=("aider",), strategies=(SWEEP,))
    monkeypatch.chdir(project.path)
    from pytest_arena.__main__ import main

    assert main(["plan", "arena.yaml"]) == 0
    text = capsys.readouterr().out
    assert "nothing runs" in text and "cells: 4" in text and "budget caps:" in text
    assert "none (budget.cell_usd and budget.session_usd are unset)" in text
    assert not (Path(project.path) / "results/demo/raw.jsonl").exists()

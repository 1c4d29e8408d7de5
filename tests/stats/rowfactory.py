"""Rows for the statistics tests, in both formats. Our rows are validated against the real row
model (pytest_arena.cell.rows.Row), so the tests read the format the harness writes."""
from __future__ import annotations

import json
from pathlib import Path

from pytest_arena.cell.rows import Row

_PROVENANCE = {"harness_version": "0.1.0", "python": "3.11", "platform": "linux", "cpu": "x86_64", "cpus": 2,
               "memory_gb": 8.0, "git_sha": None, "pricing_sha256": "0" * 64, "sandbox": "subprocess",
               "host": "test-host", "worker": "main"}


def our_row(task: str, strategy: str, seed: int, outcome: str = "pass", *, agent: str = "aider",
            task_class: str = "refactors", local: str = "qwen3.6:35b", cloud: str = "gpt-5.5",
            cloud_tokens: tuple[int, int] = (1000, 500), local_tokens: tuple[int, int] = (0, 0),
            cost_usd: float | None = None, calls: tuple[int, int] = (0, 1), wall_ms: int = 30_000,
            expect: str = "pass", backend_kinds: dict | None = None, cell_key: str | None = None) -> dict:
    cp, cc = cloud_tokens
    lp, lc = local_tokens
    passed = outcome == "pass"
    tests_ran = outcome in ("pass", "fail")
    row = {
        "task_id": task, "category": task_class, "route": agent, "hardware_profile_ref": "x86|8GB|git0000000",
        "tokens": {"prompt": cp + lp, "completion": cc + lc, "cached": 0, "reasoning": 0,
                   "local_prompt": lp, "local_completion": lc, "cloud_prompt": cp, "cloud_completion": cc},
        "latency": {"wall_ms": wall_ms, "per_call_ms": [], "agent_ms": wall_ms - 1000, "scoring_ms": 900,
                    "router_ms": 1.5},
        "quality": {"functional_pass": passed if tests_ran else None, "tests_passed": 3 if passed else 1,
                    "tests_total": 3, "composite": 1.0 if passed else 1 / 3},
        "routing": {"total_calls": sum(calls), "local_calls": calls[0], "cloud_calls": calls[1],
                    "per_call_backends": [], "statuses": {}},
        "output_ref": f"cells/{task}", "started_at": "2026-11-27T00:00:00+00:00",
        "finished_at": "2026-11-27T00:01:00+00:00", "error": None if passed else f"{outcome}: reason",
        "variant": "test", "cloud_model_id": cloud, "local_model_id": local, "router_classifier_model_id": "none",
        "router_strategy": strategy, "seed": seed, "config_sha": "abc",
        "outcome": outcome, "expect": expect,
        "node_id": f"x.yaml::{task}[{agent}-{strategy}-s{seed}]",
        "cell_key": cell_key or f"{task}|{agent}|{strategy}|{local}|{cloud}|{seed}",
        "run_id": f"run-{task}-{strategy}-{seed}", "shape": "D1", "agent_version": "1.0",
        "agent_exit_code": 0, "agent_reported": None,
        "cost_usd": cost_usd if cost_usd is not None else (cp * 5.0 + cc * 30.0) / 1e6,
        "backend_kinds": backend_kinds or {"local": "ollama", "cloud": "openai"},
        "provenance": _PROVENANCE,
    }
    Row.model_validate(row)  # the factory must write what the harness writes
    return row


def original_row(task: str, strategy: str | None, functional_pass: bool | None, *, category: str = "D",
                 route: str = "cline", seed: int | None = None, error: str | None = None,
                 cloud_tokens: tuple[int, int] = (2000, 400), local_tokens: tuple[int, int] = (5000, 800),
                 cached: int = 0, wall_ms: int = 60_000) -> dict:
    """A row as the original project wrote it (ORIGINAL.md 6.1): no outcome, cost or cell key."""
    cp, cc = cloud_tokens
    lp, lc = local_tokens
    return {
        "task_id": task, "category": category, "route": route, "hardware_profile_ref": "M3|64GB|gitabcdef0|mh",
        "tokens": {"prompt": cp + lp, "completion": cc + lc, "cached": cached, "reasoning": 0,
                   "local_prompt": lp, "local_completion": lc, "cloud_prompt": cp, "cloud_completion": cc},
        "latency": {"wall_ms": wall_ms, "per_call_ms": [wall_ms]},
        "quality": {"functional_pass": functional_pass, "tests_passed": None, "tests_total": None,
                    "judge_win_rate": None, "composite": None if functional_pass is None else float(functional_pass)},
        "routing": {"total_calls": 4, "local_calls": 3, "cloud_calls": 1, "per_call_backends": []},
        "output_ref": "outputs/x/answer.py", "started_at": None, "finished_at": None, "error": error,
        "variant": None, "cloud_model_id": None, "local_model_id": None, "router_classifier_model_id": None,
        "router_strategy": strategy, "seed": seed, "config_sha": None,
    }


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def cell_rows(passes_per_task: list[list[bool]], strategy: str, **kwargs) -> list[dict]:
    """Rows of one cell: passes_per_task[t][s] is task t, seed s."""
    rows = []
    for t, seeds in enumerate(passes_per_task):
        for s, passed in enumerate(seeds):
            rows.append(our_row(f"real-dev/t{t:02d}", strategy, 40 + s, "pass" if passed else "fail", **kwargs))
    return rows

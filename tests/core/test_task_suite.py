"""The shipped task suite is valid, checked through the real harness (oracle and null agents and a
cheating agent), not by a separate path."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from pytest_arena.tasks.folder import discover_tasks

from .arena_project import TEST_AGENTS_CONFTEST

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = discover_tasks(ROOT / "tasks")

EXPECTED_IDS = {
    *(f"exercism-python/{s}" for s in ("grep", "list-ops", "phone-number", "robot-name", "pig-latin")),
    *(f"real-dev/d1-{s}" for s in ("rate-limit", "retry-decorator", "json-schema", "auth-login")),
    *(f"real-dev/d5-{s}" for s in ("todo-counter", "csv-dedupe", "log-errors-today", "env-var-redactor")),
    *(f"real-dev/d6-{s}" for s in ("lru-ttl-cache", "token-bucket", "toposort", "mini-template")),
}
MIN_TESTS = {"real-dev/d6-lru-ttl-cache": 23, "real-dev/d6-token-bucket": 14, "real-dev/d6-toposort": 16,
             "real-dev/d6-mini-template": 27}


def test_suite_has_the_original_task_ids():
    assert set(REGISTRY.tasks) == EXPECTED_IDS


@pytest.mark.parametrize("task_id", sorted(EXPECTED_IDS))
def test_task_metadata_is_honest(task_id):
    task = REGISTRY.get(task_id)
    assert task.spec.license and task.spec.source and task.spec.stresses
    for rel in task.files("reference"):
        assert rel not in task.test_files, "the reference must not overwrite acceptance tests"
    if task.spec.tests_visible:
        assert "pytest" in task.prompt, "a task that shows its tests tells the agent how to run them"


def _run_validation(pytester: pytest.Pytester, agents: str, seeds: str, expect: str = "") -> list[dict]:
    out = pytester.path / "out"
    config = pytester.path / "validate.yaml"
    config.write_text(
        f"variant_tag: validate\nout_dir: {out}\nmodels: {{cloud: scripted, local: embedded/smollm2-135m}}\n"
        f"benchmark:\n  task_classes: [puzzles, refactors]\n  agents: [{agents}]\n  seeds: [{seeds}]\n"
        f"  tasks_dir: {ROOT / 'tasks'}\n{expect}analysis: {{resamples: 200, charts: false}}\n")
    result = pytester.runpytest_subprocess("--arena-config", str(config), "-n", "2", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()[-3000:]
    return [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines() if line.strip()]


def test_reference_passes_deterministically_and_untouched_workspace_fails(pytester):
    rows = _run_validation(pytester, "oracle, null", "1, 2, 3, 4, 5", "  expect: {null: fail}\n")
    results = defaultdict(set)
    scoring_ms = defaultdict(list)
    for row in rows:
        scoring_ms[row["task_id"]].append(row["latency"]["scoring_ms"])
        results[(row["task_id"], row["route"])].add(
            (row["outcome"], row["quality"]["tests_passed"], row["quality"]["tests_total"]))
    for task_id in EXPECTED_IDS:
        oracle = results[(task_id, "oracle")]
        assert len(oracle) == 1, f"{task_id}: the reference gives different results over 5 runs: {oracle}"
        outcome, passed, total = next(iter(oracle))
        assert outcome == "pass" and passed == total > 0
        assert total >= MIN_TESTS.get(task_id, 1)
        # Validity bound from the task-suite issue (not a speed figure: those live in benchmarks/).
        ms = sorted(scoring_ms[task_id])
        assert ms[len(ms) // 2] < 10_000, f"{task_id}: median acceptance run {ms[len(ms) // 2]} ms"
        null = results[(task_id, "null")]
        assert {o for o, _, _ in null} == {"fail"}, f"{task_id}: the untouched workspace must fail"


def test_cheating_agent_gains_nothing_on_any_task_class(pytester):
    pytester.makeconftest(TEST_AGENTS_CONFTEST)
    per_class = ["exercism-python/grep", "real-dev/d1-rate-limit", "real-dev/d5-csv-dedupe", "real-dev/d6-toposort"]
    task_ids = "\n".join(f"    - {t}" for t in per_class)
    rows = _run_validation(pytester, "cheater", "42", f"  expect: {{cheater: fail}}\n  task_ids:\n{task_ids}\n")
    assert {r["task_id"] for r in rows} == set(per_class)
    for row in rows:
        assert row["outcome"] == "fail", row["task_id"]
        assert row["quality"]["tests_total"] >= 1


def test_the_task_table_page_matches_the_task_folders():
    import subprocess
    import sys

    # --check without a FILE checks the documentation's page, docs/reference/tasks.md
    result = subprocess.run([sys.executable, "-m", "pytest_arena", "tasks", "--check", "--tasks-dir", "tasks"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "docs/reference/tasks.md: the task-table section is up to date" in result.stdout

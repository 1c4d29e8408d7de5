"""real-prs through the harness, as a user runs it: every shipped instance is resolved by the
oracle agent (which writes the fix) and not by the null agent (which changes nothing), run after
run; the user's own SWE-bench JSONL runs by instance id; what cannot be scored here says why."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid

import pytest

from pytest_arena.sweep.session import SHIPPED_TASKS
from pytest_arena.tasks.realprs.prepare import instance_dir
from pytest_arena.tasks.realprs.recipe import discover_recipes

from .conftest import realprs_config

RECIPES = discover_recipes(SHIPPED_TASKS)


def _rows(pytester) -> list[dict]:
    return [json.loads(line) for line in (pytester.path / "results/realprs/raw.jsonl").read_text().splitlines()]


def test_oracle_resolves_and_null_does_not(pytester, install_root):
    realprs_config(pytester.path / "arena.yaml")
    result = pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2 * len(RECIPES))
    rows = _rows(pytester)
    assert len(rows) == 2 * len(RECIPES)
    for row in rows:
        resolved = row["route"] == "oracle"
        assert row["category"] == "real-prs" and row["shape"] == "PR"
        assert row["quality"]["resolved"] is resolved, row["error"]
        assert row["outcome"] == ("pass" if resolved else "fail")
        if not resolved:  # the F2P tests fail, the P2P tests pass
            assert 0 < row["quality"]["tests_passed"] < row["quality"]["tests_total"]
    # The null cell's workspace is the repository at base: the new test is not there.
    cells = pytester.path / "results/realprs/cells"
    null_ws = next(cells.glob("real-prs__pallets__click-8.1.3_null-s42")) / "workspace"
    assert "test_invalid_flag_combinations" not in (null_ws / "tests/test_options.py").read_text()
    assert not (null_ws / "instance.json").exists()


def test_prediction_is_the_agents_diff_in_swebench_form(pytester, install_root, store):
    realprs_config(pytester.path / "arena.yaml", agents=("oracle",))
    result = pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider", "-k", "pyflakes")
    result.assert_outcomes(passed=1)
    cell = next((pytester.path / "results/realprs/cells").glob("real-prs__PyCQA__pyflakes-3.0.1_oracle-*"))
    lines = (cell / "prediction.jsonl").read_text().splitlines()
    assert len(lines) == 1
    prediction = json.loads(lines[0])
    assert set(prediction) == {"instance_id", "model_name_or_path", "model_patch"}
    assert prediction["instance_id"] == "PyCQA__pyflakes-3.0.1"
    # The oracle's diff does what the instance's patch does: applied to base, it gives the fix.
    folder = instance_dir(store, "PyCQA__pyflakes-3.0.1")
    repo = pytester.path / "repo"
    shutil.copytree(folder / "repo", repo, symlinks=True)
    subprocess.run(["git", "apply", "-"], cwd=repo, input=prediction["model_patch"], text=True, check=True)
    assert (repo / "pyflakes/checker.py").read_bytes() == (folder / "reference/pyflakes/checker.py").read_bytes()
    swebench = pytest.importorskip("swebench.harness.utils")  # the optional extra: pip install '.[real-prs]'
    loaded = swebench.get_predictions_from_file(str(cell / "prediction.jsonl"), "unused", "test")
    assert loaded == [prediction]


def test_own_swebench_jsonl_runs_by_instance_id(pytester, store):
    """A JSONL export plus clones: -k picks instances, each prepared from its clone when its cell
    runs; one that needs a Python this machine lacks is an infra_error saying which."""
    instance = json.loads((instance_dir(store, "pallets__click-8.1.3") / "instance.json").read_text())
    repos = pytester.path / "repos"
    subprocess.run(["git", "clone", "-q", str(instance_dir(store, "pallets__click-8.1.3") / "repo"),
                    str(repos / "pallets__click")], check=True)
    tag = uuid.uuid4().hex[:8]
    ids = [f"pallets__click-8.1.3-good-{tag}", f"pallets__click-8.1.3-py27-{tag}", f"pallets__click-8.1.3-other-{tag}"]
    lines = [
        {**instance, "instance_id": ids[0], "FAIL_TO_PASS": json.dumps(instance["FAIL_TO_PASS"]),
         "PASS_TO_PASS": json.dumps(instance["PASS_TO_PASS"]), "source_root": "src"},
        {**instance, "instance_id": ids[1], "python": "2.7", "source_root": "src"},
        {**instance, "instance_id": ids[2]},
    ]
    (pytester.path / "verified.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    realprs_config(pytester.path / "arena.yaml", agents=("oracle",),
            bench="  real_prs: {instances: verified.jsonl, repos: repos}\n")
    try:
        result = pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider",
                                    "-k", f"{ids[0]} or {ids[1]}")
        result.assert_outcomes(passed=1, errors=1, deselected=1)
        rows = {row["task_id"]: row for row in _rows(pytester)}
        assert set(rows) == {f"real-prs/{ids[0]}", f"real-prs/{ids[1]}"}
        assert rows[f"real-prs/{ids[0]}"]["quality"]["resolved"] is True
        old = rows[f"real-prs/{ids[1]}"]
        assert old["outcome"] == "infra_error"
        assert "needs Python 2.7" in old["error"] and "\n" not in old["error"]
        assert not instance_dir(store, ids[2]).exists()  # deselected: never prepared
    finally:
        for instance_id in ids:
            shutil.rmtree(instance_dir(store, instance_id), ignore_errors=True)


def test_swebench_docker_scoring_says_what_it_needs(pytester, install_root):
    realprs_config(pytester.path / "arena.yaml", agents=("oracle",), extra="scoring: {real_prs: swebench-docker}\n")
    result = pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider", "-k", "pyflakes")
    result.assert_outcomes(errors=1)
    row = _rows(pytester)[0]
    assert row["outcome"] == "infra_error" and "swebench-docker" in row["error"] and "prediction.jsonl" in row["error"]
    cell = next((pytester.path / "results/realprs/cells").glob("real-prs__PyCQA__pyflakes-3.0.1_oracle-*"))
    assert (cell / "prediction.jsonl").is_file()


@pytest.mark.parametrize(("extra", "message"), [
    ("  real_prs: {instances: verified.jsonl}\n",
     r"arena.yaml.*benchmark.real_prs.repos"),
    ("  real_prs: {instances: missing.jsonl, repos: .}\n",
     r"missing.jsonl: cannot be read.*benchmark.real_prs.instances"),
])
def test_bad_real_prs_config_is_one_clear_line(pytester, extra, message):
    realprs_config(pytester.path / "arena.yaml", bench=extra)
    result = pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider", "--collect-only")
    assert result.ret != 0
    lines = [line for line in (result.stdout.lines + result.stderr.lines) if re.search(message, line)]
    assert len(lines) == 1, result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_unprepared_instances_say_to_run_setup(pytester, monkeypatch):
    monkeypatch.setenv("ARENA_AGENTS_DIR", str(pytester.path / "empty"))
    realprs_config(pytester.path / "arena.yaml")
    result = pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider", "--collect-only")
    assert result.ret != 0
    assert "setup --tasks real-prs" in result.stdout.str() + result.stderr.str()

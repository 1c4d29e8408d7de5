"""--arena-resume keeps runs apart: a cell whose measured settings changed runs again (and the
session says how many and what changed); an operational change skips every finished cell."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_arena import __version__
from pytest_arena.sweep.config.schema import ArenaConfig
from pytest_arena.sweep.measured import kind, leaves
from tests.core.arena_project import make_config, two_task_project


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    two_task_project(pytester)
    make_config(pytester.path, agents=("caller", "oracle"), strategies=("always-cloud",))
    return pytester


BUILTIN = f"builtin-{__version__}"  # the oracle's version: the harness's own


def rows(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "results/demo/raw.jsonl").read_text().splitlines()]


def test_resume_reruns_cells_whose_measured_settings_changed_and_skips_operational_changes(project):
    first = project.runpytest("--arena-config", "arena.yaml", "--arena-no-report")
    first.assert_outcomes(passed=2, failed=2)  # oracle passes; the caller agent writes nothing
    assert len({r["measured_sha"] for r in rows(project.path)}) == 4  # one per cell: task and agent differ

    guard = ("--arena-set", "router.local_guards.max_output_tokens=512")
    changed = project.runpytest("--arena-config", "arena.yaml", "--arena-resume", "--arena-no-report", *guard,
                                "-n", "2")  # the workers' rows carry the controller's shas
    # the model-calling cells measured under 4096 run again; oracle never calls a model: skipped
    changed.assert_outcomes(failed=2, skipped=2)
    changed.stdout.fnmatch_lines([
        "resume: 2 cells have rows with other measured settings (measured-settings sha * → *: "
        "router.local_guards.max_output_tokens 4096 → 512); re-running them"])
    got = rows(project.path)
    assert len(got) == 6 and [r["route"] for r in got[4:]] == ["caller", "caller"]

    operational = project.runpytest(
        "--arena-config", "arena.yaml", "--arena-resume", "--arena-no-report", *guard,
        "--arena-set", "router.cloud_concurrency=3", "--arena-set", "router.max_retries=1",
        "--arena-set", "analysis.resamples=300", "--arena-set", "router.port=9999",
        "--arena-set", "variant_tag=renamed")
    operational.assert_outcomes(skipped=4)
    assert "other measured settings" not in operational.stdout.str()
    assert len(rows(project.path)) == 6

    task = project.path / "tasks/puzzles/adder/tests/test_adder.py"
    task.write_text(task.read_text() + "\n\ndef test_zero():\n    assert add(0, 0) == 0\n")
    edited = project.runpytest("--arena-config", "arena.yaml", "--arena-resume", "--arena-no-report", *guard)
    edited.assert_outcomes(passed=1, failed=1, skipped=2)  # both agents' adder cells: its tests changed
    edited.stdout.fnmatch_lines(["resume: 2 cells have rows with other measured settings (*task.content*"])


def test_resume_reruns_the_cells_of_an_agent_whose_version_changed(project, monkeypatch):
    first = project.runpytest("--arena-config", "arena.yaml", "--arena-no-report", "-k", "caller")
    first.assert_outcomes(failed=2)
    assert {r["agent_version"] for r in rows(project.path)} == {"test-1"}

    monkeypatch.setenv("TEST_AGENT_VERSION", "test-2")  # the agent was upgraded between two sessions
    upgraded = project.runpytest("--arena-config", "arena.yaml", "--arena-resume", "--arena-no-report")
    upgraded.assert_outcomes(passed=2, failed=2)  # the oracle cells had no row; the caller's ran on test-1
    upgraded.stdout.fnmatch_lines(["resume: 2 cells have rows from another agent version (caller test-1 → test-2); "
                                   "re-running them"])
    assert "other measured settings" not in upgraded.stdout.str()
    assert sorted((r["route"], r["agent_version"]) for r in rows(project.path)[2:]) == [
        ("caller", "test-2"), ("caller", "test-2"), ("oracle", BUILTIN), ("oracle", BUILTIN)]

    again = project.runpytest("--arena-config", "arena.yaml", "--arena-resume", "--arena-no-report")
    again.assert_outcomes(skipped=4)
    assert "agent version" not in again.stdout.str()


def test_every_config_field_is_classified_for_the_measured_sha():
    config = ArenaConfig.model_validate({"variant_tag": "t", "out_dir": "r", "models": {"cloud": "scripted",
                                                                                         "local": "qwen3:0.6b"}})
    unclassified = [path for path in leaves(config) if kind(path) == "unclassified"]
    assert not unclassified, (
        f"classify {unclassified} in pytest_arena/sweep/measured.py: MEASURED if it can change a cell's result, "
        "OPERATIONAL if not, CELL_AXES if it selects cells")


def test_a_cell_is_measured_under_the_sandbox_kind_that_runs_it_not_the_word_auto(tmp_path):
    """``sandbox.agents: auto`` (the default) records the kind it resolves to, as rows made before
    ``auto`` existed recorded it (so their results stay resumable), and naming that kind is the
    same measurement; ``sandbox.scoring`` counts only when a config names a kind."""
    from pytest_arena.sandbox.kinds import resolve_sandbox_kind
    from pytest_arena.sweep.session import ArenaSession
    from tests.core.arena_project import make_task

    make_task(tmp_path)
    make_config(tmp_path, agents=("aider",), strategies=("always-cloud",))

    def settings(*overrides: str) -> dict:
        session = ArenaSession.load(tmp_path / "arena.yaml", list(overrides), "plan", tmp_path)
        return session.measured_settings(session.cells[0])

    here = resolve_sandbox_kind("auto", "agents").name
    default = settings()
    assert default["sandbox.agents"] == here and "sandbox.scoring" not in default
    assert settings(f"sandbox.agents={here}") == default
    assert settings("sandbox.scoring=subprocess")["sandbox.scoring"] == "subprocess"

"""Plugin behaviour through real pytest runs (pytester): collection and ids, selection, outcomes,
rows, resume, xdist hand-off, crash safety, cheating agents and bad task folders."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .arena_project import TEST_AGENTS_CONFTEST, make_config, make_task


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_task(pytester.path)
    make_task(pytester.path, "demo/multiplier", tests="from multiplier import add, total\n\n"
              "def test_mul():\n    assert add(3, 4) == 7\n\ndef test_total():\n    assert total([5]) == 5\n",
              module="multiplier")
    pytester.makeconftest(TEST_AGENTS_CONFTEST)
    return pytester


def rows(root: Path, out: str = "results/demo") -> list[dict]:
    path = root / out / "raw.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_collect_only_lists_every_cell_with_a_stable_readable_id(project):
    make_config(project.path, agents=("oracle", "aider"), strategies=("always-cloud", "cascade"), seeds=(42, 7))
    first = project.runpytest("--arena-config", "arena.yaml", "--collect-only", "-q")
    ids = [line for line in first.outlines if "::" in line]
    assert "arena.yaml::demo/adder[oracle-s42]" in ids
    assert "arena.yaml::demo/adder[aider-cascade-s7]" in ids
    # 2 tasks x (oracle: 2 seeds + aider: 2 strategies x 2 seeds)
    assert len(ids) == 2 * (2 + 4)
    second = project.runpytest("--arena-config", "arena.yaml", "--collect-only", "-q")
    assert [line for line in second.outlines if "::" in line] == ids


def test_k_selects_cells_like_any_pytest_test(project):
    make_config(project.path, agents=("oracle", "aider", "cline"), strategies=("always-cloud", "cascade"))
    result = project.runpytest("--arena-config", "arena.yaml", "--collect-only", "-q", "-k", "cline and cascade")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == ["arena.yaml::demo/adder[cline-cascade-s42]", "arena.yaml::demo/multiplier[cline-cascade-s42]"]


def test_plain_pytest_does_not_collect_cells(project):
    make_config(project.path)
    project.makepyfile(test_own="def test_own():\n    assert True\n")
    result = project.runpytest("-q")
    result.assert_outcomes(passed=1)


def test_oracle_passes_null_fails_as_expected_and_rows_are_complete(project):
    make_config(project.path, expect={"null": "fail"})
    result = project.runpytest("--arena-config", "arena.yaml", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*demo/adder?oracle-s42? PASS*", "*demo/adder?null-s42? FAIL (expected)*",
                                 "*pytest-arena summary*"])
    got = rows(project.path)
    assert len(got) == 4
    by_agent = {(r["task_id"], r["route"]): r for r in got}
    oracle = by_agent[("demo/adder", "oracle")]
    assert oracle["outcome"] == "pass"
    assert oracle["quality"] == {"functional_pass": True, "tests_passed": 3, "tests_total": 3, "composite": 1.0,
                                 "resolved": None}  # resolved: real-prs only
    null = by_agent[("demo/adder", "null")]
    assert null["outcome"] == "fail" and null["quality"]["tests_passed"] == 0 and null["expect"] == "fail"
    for row in got:
        assert row["node_id"].startswith("arena.yaml::demo/")
        assert row["config_sha"] and row["provenance"]["harness_version"] and row["agent_version"]
        assert row["variant"] == "demo" and row["seed"] == 42
        assert row["started_at"] <= row["finished_at"]
        assert (project.path / "results/demo" / row["output_ref"] / "junit.xml").is_file()
    for name in ("aggregate.json", "bootstrap_cis.json"):
        assert (project.path / "results/demo" / name).is_file(), name


def test_failed_cell_reports_reason_and_lf_reruns_only_it(project):
    make_config(project.path)  # null is expected to pass here, so its cells fail
    first = project.runpytest("--arena-config", "arena.yaml")
    first.assert_outcomes(passed=2, failed=2)
    first.stdout.fnmatch_lines(["*FAIL: 0/3 tests passed*"])
    again = project.runpytest("--arena-config", "arena.yaml", "--lf", "--collect-only", "-q")
    ids = [line for line in again.outlines if "::" in line]
    assert sorted(ids) == ["arena.yaml::demo/adder[null-s42]", "arena.yaml::demo/multiplier[null-s42]"]


def test_cheating_agent_gains_nothing(project):
    make_config(project.path, agents=("cheater",))
    result = project.runpytest("--arena-config", "arena.yaml")
    result.assert_outcomes(failed=2)
    for row in rows(project.path):
        assert row["outcome"] == "fail"
        assert row["quality"]["tests_passed"] == 0
        assert row["quality"]["tests_total"] >= 2  # the pristine tests ran, not the agent's


def test_timeout_and_crash_each_get_their_outcome(project, monkeypatch):
    # (a missing agent stops the run at collection: tests/core/test_pytest_conventions.py)
    monkeypatch.setenv("SLEEPER_SECONDS", "30")
    make_config(project.path, agents=("sleeper", "crasher", "oracle"), timeout_s=1)
    result = project.runpytest("--arena-config", "arena.yaml", "-v", "-k", "adder")
    result.stdout.fnmatch_lines_random([
        "*adder?sleeper-s42? TIMEOUT*", "*adder?crasher-s42? CRASH*", "*adder?oracle-s42? PASS*"])
    outcomes = {r["route"]: r["outcome"] for r in rows(project.path)}
    assert outcomes == {"sleeper": "timeout", "crasher": "agent_crash", "oracle": "pass"}


BROKEN_AGENT = """

from pytest_arena.errors import ArenaError


class Broken(_Builtin):
    \"\"\"Installed, but what it needs breaks under it at run time: an infra_error.\"\"\"
    name = "broken"

    def run(self, ctx):
        raise ArenaError("the broken agent's service is down: start it")


register_agent("broken", Broken)
"""


def test_resume_skips_finished_cells_and_reruns_infra_errors(project):
    project.makeconftest(TEST_AGENTS_CONFTEST + BROKEN_AGENT)
    make_config(project.path, agents=("oracle", "broken"))
    first = project.runpytest("--arena-config", "arena.yaml")
    assert len(rows(project.path)) == 4
    # one line per infrastructure problem, not one traceback per cell
    first.stdout.fnmatch_lines(["*infrastructure problems this session*",
                                "*2 cell(s): the broken agent's service is down: start it*"])
    result = project.runpytest("--arena-config", "arena.yaml", "--arena-resume", "-rs")
    result.assert_outcomes(skipped=2, errors=2)  # infra_error cells count as pytest errors
    result.stdout.fnmatch_lines(["*resumed: a row with outcome pass exists*"])
    got = rows(project.path)
    assert len(got) == 6 and sum(r["route"] == "broken" for r in got) == 4


def test_bad_task_folders_stop_collection_with_the_task_named(project):
    make_config(project.path)
    broken = make_task(project.path, "demo/broken",
                       reference="def add(a, b):\n    return a - b\n\ndef total(v):\n    return 0\n",
                       module="broken")
    result = project.runpytest("--arena-config", "arena.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*task demo/broken*reference solution fails its own acceptance tests*"])
    (broken / "reference" / "broken.py").write_text("def add(a, b):\n    return a + b\n\n"
                                                    "def total(v):\n    return sum(v)\n")
    (broken / "workspace" / "data.txt").write_bytes(b"\xff\xfe not utf-8")
    result = project.runpytest("--arena-config", "arena.yaml")
    result.stderr.fnmatch_lines(["*task demo/broken: workspace/data.txt is not UTF-8 text*"])
    (broken / "workspace" / "data.txt").unlink()
    for f in (broken / "tests").iterdir():
        f.unlink()
    (broken / "tests").rmdir()
    result = project.runpytest("--arena-config", "arena.yaml")
    result.stderr.fnmatch_lines(["*task demo/broken*the folder tests/ is missing*"])
    assert "Traceback" not in result.stderr.str()


def test_xdist_workers_hand_every_row_to_the_controller(project):
    make_config(project.path, agents=("oracle", "null", "sleeper"), seeds=(1, 2), expect={"null": "fail"})
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-n", "2")
    result.assert_outcomes(passed=12)
    got = rows(project.path)
    assert len(got) == 12
    assert len({r["cell_key"] for r in got}) == 12
    assert not (project.path / "results/demo/shards").exists()


def test_kill_9_mid_run_then_resume_completes_the_matrix_exactly_once(project):
    make_config(project.path, agents=("sleeper",), seeds=(1, 2, 3, 4))
    env = dict(os.environ, SLEEPER_SECONDS="0.7")
    raw = project.path / "results/demo/raw.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "--arena-config", "arena.yaml", "-p", "no:cacheprovider"],
                            cwd=project.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if raw.is_file() and len(raw.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = rows(project.path)
    assert 3 <= len(before) < 8, "the kill should land mid-run"
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "--arena-resume")
    result.assert_outcomes(passed=8 - len(before), skipped=len(before))
    after = rows(project.path)
    keys = [r["cell_key"] for r in after]
    assert len(keys) == len(set(keys)) == 8
    assert {r["outcome"] for r in after} == {"pass"}


def test_missing_ollama_ends_each_cell_with_one_grouped_message(project, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no `ollama` binary to start
    make_config(project.path, agents=("caller",), strategies=("always-local", "cascade"))
    cfg = project.path / "arena.yaml"
    cfg.write_text(cfg.read_text().replace(
        "models: {cloud: scripted, local: embedded/smollm2-135m}",
        "models: {cloud: gpt-5.5, local: 'qwen3:0.6b', local_base_url: 'http://127.0.0.1:9/v1'}"))
    result = project.runpytest("--arena-config", "arena.yaml")
    result.assert_outcomes(errors=4)
    # every cell needs Ollama; the cascade cells need the cloud key too, and say so
    result.stdout.fnmatch_lines_random(["*infrastructure problems this session*", "*4 cell(s): *Ollama*127.0.0.1:9*",
                                        "*2 cell(s): *OPENAI_API_KEY is not set*"])
    assert "Traceback" not in result.stdout.str()
    assert {r["outcome"] for r in rows(project.path)} == {"infra_error"}


def test_missing_cloud_key_is_named_once_for_all_cells(project, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    make_config(project.path, agents=("caller",), strategies=("always-cloud",))
    cfg = project.path / "arena.yaml"
    cfg.write_text(cfg.read_text().replace("cloud: scripted", "cloud: gpt-5.5"))
    result = project.runpytest("--arena-config", "arena.yaml")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*2 cell(s): *OPENAI_API_KEY is not set*"])


def test_always_cloud_cells_need_no_local_server(project, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no Ollama anywhere
    make_config(project.path, agents=("caller",), strategies=("always-cloud",))
    cfg = project.path / "arena.yaml"
    cfg.write_text(cfg.read_text().replace(
        "local: embedded/smollm2-135m", "local: 'qwen3:0.6b', local_base_url: 'http://127.0.0.1:9/v1'"))
    result = project.runpytest("--arena-config", "arena.yaml")
    result.assert_outcomes(failed=2)  # the caller agent writes nothing: a plain test failure, not infra
    assert {r["outcome"] for r in rows(project.path)} == {"fail"}


def test_pytest_timeout_still_leaves_a_row(project, monkeypatch):
    monkeypatch.setenv("SLEEPER_SECONDS", "30")
    make_config(project.path, agents=("sleeper",))
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "--timeout", "2", "-k", "adder")
    result.assert_outcomes(failed=1)
    (row,) = rows(project.path)
    assert row["outcome"] == "timeout" and "--timeout" in row["error"]


def _listed(result) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_every_cell_has_its_own_id_for_co_lf_deselect_junit_and_rows(project):
    """Several cells per task: each id is listed once, --lf re-runs exactly the failed cells,
    --deselect removes exactly one cell, JUnit names are unique and rows carry distinct node ids."""
    make_config(project.path, seeds=(42, 7))  # oracle passes, null fails: 4 cells per task, 2 failing
    listed = _listed(project.runpytest("--arena-config", "arena.yaml", "--co", "-q"))
    assert len(listed) == len(set(listed)) == 8
    assert "arena.yaml::demo/adder[null-s7]" in listed and "arena.yaml::demo/multiplier[oracle-s42]" in listed

    junit = project.path / "junit.xml"
    first = project.runpytest("--arena-config", "arena.yaml", f"--junitxml={junit}")
    first.assert_outcomes(passed=4, failed=4)
    first.stdout.fnmatch_lines(["*[[]100%[]]*"])
    import xml.etree.ElementTree as ET
    cases = [(c.get("classname"), c.get("name")) for c in ET.parse(junit).iter("testcase")]
    assert len(cases) == len(set(cases)) == 8
    got = rows(project.path)
    assert len({r["node_id"] for r in got}) == len({r["cell_key"] for r in got}) == 8
    assert sorted(r["node_id"] for r in got) == sorted(listed)

    failed = _listed(project.runpytest("--arena-config", "arena.yaml", "--lf", "--co", "-q"))
    assert sorted(failed) == sorted(i for i in listed if "[null-" in i)
    rerun = project.runpytest("--arena-config", "arena.yaml", "--lf")
    rerun.assert_outcomes(failed=4)

    gone = "arena.yaml::demo/adder[oracle-s7]"
    kept = _listed(project.runpytest("--arena-config", "arena.yaml", "--co", "-q", "--deselect", gone))
    assert sorted(kept) == sorted(i for i in listed if i != gone)
    one = _listed(project.runpytest("--arena-config", "arena.yaml", "--co", "-q", gone))
    assert one == [gone]


def test_agents_refuse_to_run_without_bubblewrap_unless_the_user_opts_out(project, monkeypatch):
    from pytest_arena.sandbox import kinds
    from pytest_arena.sandbox.base import Availability

    # As on a machine without bubblewrap, nor any other kind that walls agents off (a container
    # image built here, say), forgetting what this process detected.
    for kind in kinds.sandbox_kinds("agents"):
        if kind.name != "none":
            monkeypatch.setattr(kind, "available", lambda: Availability(False, "is not installed"))
    monkeypatch.setattr(kinds, "_available", {})
    make_config(project.path, agents=("sleeper",))
    refused = project.runpytest("--arena-config", "arena.yaml", "-k", "adder")
    refused.stdout.fnmatch_lines(["*1 cell(s): agents run only inside a sandbox*bubblewrap is not installed "
                                  "(apt-get install bubblewrap)*sandbox.agents=none*"])
    assert [r["outcome"] for r in rows(project.path)] == ["infra_error"]

    opted_out = project.runpytest("--arena-config", "arena.yaml", "-k", "adder", "--arena-set", "sandbox.agents=none")
    opted_out.assert_outcomes(passed=1)
    opted_out.stdout.fnmatch_lines_random(["*WARNING: 1 cell(s) ran their agent WITHOUT a sandbox "
                                           "(sandbox.agents=none)*",
                                           "none [[]1 unsandboxed[]] *"])
    last = rows(project.path)[-1]
    assert last["outcome"] == "pass" and last["sandbox"]["agent"] == "none"


def test_rows_record_the_sandbox_of_agent_and_tests(project):
    from pytest_arena.sandbox.run import sandbox_kind

    if sandbox_kind() != "bwrap":
        pytest.skip("bwrap is not usable here")
    make_config(project.path, agents=("sleeper",))
    project.runpytest("--arena-config", "arena.yaml").assert_outcomes(passed=2)
    assert {(r["sandbox"]["agent"], r["sandbox"]["scoring"]) for r in rows(project.path)} == {("bwrap", "bwrap")}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_junit_properties_carry_outcomes_not_the_handoff_payload(project, workers):
    make_config(project.path)
    junit = project.path / "junit.xml"
    project.runpytest_subprocess("--arena-config", "arena.yaml", f"--junitxml={junit}", *workers)
    import xml.etree.ElementTree as ET
    names = [p.get("name") for p in ET.parse(junit).iter("property")]
    assert "arena_outcome" in names
    assert "arena_row" not in names and "arena_cell" not in names
    assert junit.stat().st_size < 20_000
    assert len(rows(project.path)) == 4

"""pytest's own conventions on cells, through real pytest runs (pytester): markers and -m, -k on
class and model, JUnit properties, a missing agent named once at collection, exit codes and
--arena-failures-ok, and failure messages that read once and fit the short summary."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .arena_project import TEST_AGENTS_CONFTEST, make_config, make_task

# An LLM agent that makes one real call through the router (answered by the scripted backend),
# then writes the reference files; and one named like a strategy, for the marker-collision rule.
TALKING_AGENTS = '''

import json as _json
import urllib.request as _request


class Talker(Caller):
    name = "talker"

    def run(self, ctx):
        body = _json.dumps({"model": ctx.endpoints.model, "messages": [{"role": "user", "content": ctx.prompt}]})
        req = _request.Request(ctx.endpoints.openai_base + "/chat/completions", data=body.encode(),
                               headers={"Authorization": f"Bearer {ctx.endpoints.api_key}",
                                        "Content-Type": "application/json"})
        with _request.urlopen(req, timeout=30) as response:
            response.read()
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        return AgentResult(exit_code=0, duration_s=0.0)


class Rules(Caller):
    name = "rules"


for cls in (Talker, Rules):
    register_agent(cls.name, cls)
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_task(pytester.path)  # demo/adder: a puzzles task of shape puzzle
    make_task(pytester.path, "demo/rename", "refactors", module="rename")  # shape D6
    pytester.makeconftest(TEST_AGENTS_CONFTEST + TALKING_AGENTS)
    return pytester


def listed(result) -> list[str]:
    return sorted(line for line in result.outlines if "::" in line)


def rows(root: Path) -> list[dict]:
    path = root / "results/demo/raw.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


ALL = ["arena.yaml::demo/adder[aider-always-cloud-s42]", "arena.yaml::demo/adder[aider-cascade-s42]",
       "arena.yaml::demo/adder[mini-swe-agent-always-cloud-s42]", "arena.yaml::demo/adder[mini-swe-agent-cascade-s42]",
       "arena.yaml::demo/adder[oracle-s42]"]
REFACTORS = [i.replace("demo/adder", "demo/rename") for i in ALL]


def test_markers_per_axis_are_registered_listed_and_select_cells(project):
    make_config(project.path, agents=("oracle", "aider", "mini-swe-agent"), classes=("puzzles", "refactors"),
                strategies=("always-cloud", "cascade"))
    markers = project.runpytest("--arena-config", "arena.yaml", "--markers")
    markers.stdout.fnmatch_lines_random([
        "@pytest.mark.mini_swe_agent: pytest-arena: cells run by the agent mini-swe-agent",
        "@pytest.mark.oracle: pytest-arena: cells run by the agent oracle",
        "@pytest.mark.always_cloud: pytest-arena: cells routed by the always-cloud strategy*",
        "@pytest.mark.cascade: pytest-arena: cells routed by the cascade strategy*",
        "@pytest.mark.refactors: pytest-arena: cells of refactors tasks",
        "@pytest.mark.puzzles: pytest-arena: cells of puzzles tasks",
        "@pytest.mark.local_embedded_smollm2_135m: pytest-arena: cells whose local model is embedded/smollm2-135m",
        "@pytest.mark.shape_D6: pytest-arena: cells of tasks of shape D6",
        "@pytest.mark.shape_puzzle: pytest-arena: cells of tasks of shape puzzle"])

    def select(*args: str) -> list[str]:
        result = project.runpytest("--arena-config", "arena.yaml", "--strict-markers", "--co", "-q", *args)
        assert result.ret == 0, result.stdout.str()
        return listed(result)

    assert select("-m", "refactors") == REFACTORS
    assert select("-m", "shape_puzzle") == ALL
    assert select("-m", "aider and cascade") == ["arena.yaml::demo/adder[aider-cascade-s42]",
                                                 "arena.yaml::demo/rename[aider-cascade-s42]"]
    assert select("-m", "mini_swe_agent and not cascade and puzzles") == [
        "arena.yaml::demo/adder[mini-swe-agent-always-cloud-s42]"]
    # oracle calls no model: it has no strategy and no local-model marker
    assert select("-m", "local_embedded_smollm2_135m and puzzles") == [i for i in ALL if "oracle" not in i]
    assert select("-m", "always_cloud or oracle") == sorted(
        i for i in ALL + REFACTORS if "always-cloud" in i or "oracle" in i)


def test_an_agent_named_like_a_strategy_gets_prefixed_markers(project):
    make_config(project.path, agents=("rules",), strategies=("rules", "cascade"))
    markers = project.runpytest("--arena-config", "arena.yaml", "--markers")
    markers.stdout.fnmatch_lines_random(["@pytest.mark.agent_rules: pytest-arena: cells run by the agent rules",
                                         "@pytest.mark.strategy_rules: "
                                         "pytest-arena: cells routed by the rules strategy*",
                                         "@pytest.mark.cascade: *"])
    result = project.runpytest("--arena-config", "arena.yaml", "--strict-markers", "--co", "-q",
                               "-m", "agent_rules and strategy_rules and puzzles")
    assert listed(result) == ["arena.yaml::demo/adder[rules-rules-s42]"]


def test_k_matches_the_task_class_and_the_local_model(project):
    make_config(project.path, agents=("oracle", "aider"), classes=("puzzles", "refactors"), strategies=("cascade",))
    base = ("--arena-config", "arena.yaml", "--co", "-q", "--arena-set", "models.local=qwen3.6:35b,qwen3:8b")
    by_class = listed(project.runpytest(*base, "-k", "refactors"))
    assert by_class == ["arena.yaml::demo/rename[aider-cascade-qwen3.6:35b-s42]",
                        "arena.yaml::demo/rename[aider-cascade-qwen3:8b-s42]", "arena.yaml::demo/rename[oracle-s42]"]
    by_model = listed(project.runpytest(*base, "-k", "qwen3 and puzzles"))
    assert by_model == ["arena.yaml::demo/adder[aider-cascade-qwen3.6:35b-s42]",
                        "arena.yaml::demo/adder[aider-cascade-qwen3:8b-s42]"]
    one_model = listed(project.runpytest(*base, "-m", "local_qwen3_8b"))
    assert one_model == ["arena.yaml::demo/adder[aider-cascade-qwen3:8b-s42]",
                         "arena.yaml::demo/rename[aider-cascade-qwen3:8b-s42]"]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_junit_properties_per_cell(project, workers):
    make_config(project.path, agents=("talker", "null"), strategies=("always-cloud",))
    junit = project.path / "junit.xml"
    project.runpytest_subprocess("--arena-config", "arena.yaml", "-k", "adder", f"--junitxml={junit}", *workers)
    cases = {case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
             for case in ET.parse(junit).iter("testcase")}
    talker, null = cases["demo/adder[talker-always-cloud-s42]"], cases["demo/adder[null-s42]"]
    by_agent = {row["route"]: row for row in rows(project.path)}
    row = by_agent["talker"]
    assert talker["arena_outcome"] == "pass" and talker["arena_tests_passed"] == talker["arena_tests_total"] == "3"
    assert float(talker["arena_cost_usd"]) == pytest.approx(row["cost_usd"]) and row["cost_usd"] > 0
    assert talker["arena_tokens_cloud"] == str(row["tokens"]["cloud_prompt"] + row["tokens"]["cloud_completion"]) != "0"
    assert talker["arena_tokens_local"] == "0" and talker["arena_cloud_fraction"] == "1.0"
    assert int(talker["arena_wall_ms"]) == row["latency"]["wall_ms"] > 0
    assert null["arena_outcome"] == "fail" and (null["arena_tests_passed"], null["arena_tests_total"]) == ("0", "3")
    assert null["arena_tokens_cloud"] == "0" and "arena_cloud_fraction" not in null  # no tokens, no fraction
    assert not {"arena_row", "arena_cell"} & (set(talker) | set(null))


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_missing_agent_is_one_line_at_collection_unless_its_cells_are_deselected(project, workers):
    make_config(project.path, agents=("oracle", "missing"), classes=("puzzles", "refactors"))
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", *workers)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = ("ERROR: *arena.yaml: agent(s) missing not installed in *: run "
                "`python -m pytest_arena setup --agents missing`, or leave their cells out with -m \"not missing\"")
    result.stderr.fnmatch_lines([expected])
    assert result.stderr.str().count("not installed") == 1 and "Traceback" not in result.stderr.str()
    assert rows(project.path) == []  # no cell started

    kept = project.runpytest_subprocess("--arena-config", "arena.yaml", "-m", "not missing", *workers)
    kept.assert_outcomes(passed=2)
    assert project.runpytest_subprocess("--arena-config", "arena.yaml", "-k", "oracle", *workers).ret == 0
    assert len(listed(project.runpytest("--arena-config", "arena.yaml", "--co", "-q"))) == 4  # listing is fine


def test_exit_codes_and_failures_ok(project, monkeypatch):
    make_config(project.path, agents=("oracle", "null"))  # null fails its task: a measurement
    args = ("--arena-config", "arena.yaml", "--arena-no-report", "-k", "adder")
    measured = project.runpytest(*args)
    assert measured.ret == pytest.ExitCode.TESTS_FAILED
    forgiven = project.runpytest(*args, "--arena-failures-ok")
    assert forgiven.ret == pytest.ExitCode.OK
    forgiven.assert_outcomes(passed=1, failed=1)  # still reported as a failed test
    forgiven.stdout.fnmatch_lines(["--arena-failures-ok: every failed cell is a measurement (1 fail); exit status 0*"])
    by_config = project.runpytest(*args, "--arena-set", "failures_ok=true")
    assert by_config.ret == pytest.ExitCode.OK
    assert project.runpytest(*args, "--arena-failures-ok", "-k", "oracle").ret == pytest.ExitCode.OK

    # not a measurement: a cell that passes although the config expects it to fail ...
    unexpected = project.runpytest(*args, "--arena-failures-ok", "--arena-set", "benchmark.expect={oracle: fail}", "-v")
    assert unexpected.ret == pytest.ExitCode.TESTS_FAILED
    unexpected.assert_outcomes(failed=2)
    unexpected.stdout.fnmatch_lines(["*adder?oracle-s42? PASS (expected to fail)*"])
    # ... or an infra error (here: no bubblewrap)
    from pytest_arena.sandbox import kinds
    from pytest_arena.sandbox.base import Availability

    monkeypatch.setattr(kinds.get_sandbox_kind("bwrap"), "available", lambda: Availability(False, "is not installed"))
    monkeypatch.setattr(kinds, "_available", {})
    broken = project.runpytest(*args, "--arena-failures-ok")
    assert broken.ret == pytest.ExitCode.TESTS_FAILED
    assert "--arena-failures-ok: every failed cell" not in broken.stdout.str()


def test_failure_messages_say_each_fact_once_and_the_summary_shows_the_cell_id(project, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    # pytest never shortens summary lines on CI (CI or BUILD_NUMBER set; pytest < 9 counts an empty CI too)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    make_task(project.path, "demo/a-task-whose-name-is-long-enough-to-fill-the-line", module="longname")
    make_config(project.path, agents=("null",))
    result = project.runpytest("--arena-config", "arena.yaml", "--arena-no-report", "-k", "adder or long")
    body = [line for line in result.outlines if line.startswith("FAIL: ")]
    assert body and all(line.count("tests passed") == 1 for line in body), body
    assert "FAIL: 0/3 tests passed; test_adder.py::test_add_small: NotImplementedError" in body
    summary = [line for line in result.outlines if line.startswith("FAIL arena.yaml::")]
    assert sorted(line.split(" - ")[0] for line in summary) == [
        "FAIL arena.yaml::demo/a-task-whose-name-is-long-enough-to-fill-the-line[null-s42]",
        "FAIL arena.yaml::demo/adder[null-s42]"]
    short = next(line for line in summary if "adder" in line)
    assert short.startswith("FAIL arena.yaml::demo/adder[null-s42] - 0/3 tests passed; test_adder.py::")
    assert len(short) <= 80 and "Failed:" not in short and short.count("FAIL") == 1

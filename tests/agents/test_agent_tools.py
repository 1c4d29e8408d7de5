"""An agent runs its task's visible tests with the commands the scorer uses (cell/agent_tools.py):
``pytest`` for a pytest task, ``jest`` for a JavaScript one, first on its PATH inside its sandbox,
read-only. Before, neither existed there (the harness's venv and the runner cache are not shown to
agents), so an agent told "run the tests with `pytest -q`" found no pytest, while agents on Go or
Rust tasks could run theirs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from core.arena_project import TEST_AGENTS_CONFTEST, make_config, make_task  # tests/ is on sys.path

from pytest_arena.agents.base import AgentSandbox
from pytest_arena.agents.process import base_env, run_process
from pytest_arena.cell.agent_tools import NO_TOOLS, agent_tools
from pytest_arena.cell.runner import populate_workspace
from pytest_arena.paths import default_install_root
from pytest_arena.sandbox.kinds import availability
from pytest_arena.scoring.runners import runner_tools_dir
from pytest_arena.scoring.runners.javascript import JavascriptToolchain, agent_jest
from pytest_arena.tasks.folder import load_task

needs_bwrap = pytest.mark.skipif(not availability("bwrap"), reason="bubblewrap cannot start here")


def _in_agent_sandbox(tmp_path: Path, workspace: Path, tools, script: str) -> str:
    """``script`` (sh) as an agent process in a bwrap agent sandbox with ``tools``: its output."""
    home = tmp_path / "home"
    box = AgentSandbox(kind="bwrap", writable=(workspace, home), readonly=tools.readonly,
                       path=(tools.folder,) if tools.folder else ())
    result = run_process(["/bin/sh", "-c", script], cwd=workspace, env=base_env(home), timeout_s=120,
                         log_dir=tmp_path / "logs", sandbox=box)
    return result.read("stdout") + result.read("stderr")


@needs_bwrap
def test_an_agent_runs_the_visible_tests_with_pytest_and_cannot_change_it(tmp_path):
    task = load_task(make_task(tmp_path))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    populate_workspace(task, workspace)
    tools = agent_tools(task, default_install_root(), workspace, tmp_path / "tools")
    assert tools.names == ("pytest",)
    before = _in_agent_sandbox(tmp_path, workspace, tools, "pytest -q; echo exit=$?")
    assert "3 failed" in before and "exit=1" in before, before
    (workspace / "adder.py").write_text(task.files("reference")["adder.py"].decode())
    after = _in_agent_sandbox(tmp_path, workspace, tools,
                              "pytest -q test_adder.py; echo exit=$?; echo x > \"$(command -v pytest)\"; echo wrote=$?")
    assert "3 passed" in after and "exit=0" in after and "wrote=0" not in after, after
    # it leaves nothing of its own in the workspace (no cache folder, no bytecode)
    assert sorted(p.name for p in workspace.rglob("*")) == ["adder.py", "test_adder.py"]


@needs_bwrap
def test_without_the_tools_the_agent_sandbox_has_no_pytest(tmp_path):
    """The control: the same run with no tools finds no pytest (what every agent met before)."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    out = _in_agent_sandbox(tmp_path, workspace, NO_TOOLS, "pytest -q; echo exit=$?")
    assert "exit=127" in out and "pytest: not found" in out, out


JEST_DIR = runner_tools_dir(default_install_root(), "javascript")
needs_jest = pytest.mark.skipif(JavascriptToolchain().missing(JEST_DIR) is not None,
                                reason="jest is not installed here (python -m pytest_arena setup --runners javascript)")


JS_TASK = Path(__file__).resolve().parents[1] / "fixtures" / "runners" / "javascript" / "double"


@needs_bwrap
@needs_jest
def test_an_agent_runs_the_visible_spec_files_with_jest_and_npm_test(tmp_path):
    task = load_task(JS_TASK)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    populate_workspace(task, workspace)
    (workspace / "package.json").write_text(json.dumps({"private": True, "scripts": {"test": "jest ./*"}}))
    tools = agent_tools(task, default_install_root(), workspace, tmp_path / "tools")
    assert tools.names == ("jest",) and JEST_DIR in tools.readonly
    wrong = _in_agent_sandbox(tmp_path, workspace, tools, "jest; echo exit=$?")
    assert "2 failed" in wrong and "exit=1" in wrong, wrong  # xtest runs too, as when scored
    (workspace / "double.js").write_bytes(task.files("reference")["double.js"])
    right = _in_agent_sandbox(tmp_path, workspace, tools, "npm test; echo exit=$?")
    assert "2 passed" in right and "exit=0" in right, right
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    assert agent_jest(tmp_path / "nowhere", workspace, folder) == {}  # jest not installed: nothing offered


TESTER_CONFTEST = '''

from pytest_arena.agents.process import base_env as _base_env, run_process as _run_process


class Tester(_Builtin):
    """Runs the visible tests with the pytest on its PATH, then writes the reference and runs them
    again; what it saw stays in its workspace (tests-before.txt, tests-after.txt)."""
    name = "tester"

    def _tests(self, ctx, name):
        _run_process(["/bin/sh", "-c", "pytest -q > " + name + " 2>&1; echo exit=$? >> " + name],
                     cwd=ctx.workspace, env=_base_env(ctx.home), timeout_s=60, log_dir=ctx.log_dir,
                     name=name, sandbox=ctx.sandbox)

    def run(self, ctx):
        self._tests(ctx, "tests-before.txt")
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        self._tests(ctx, "tests-after.txt")
        return AgentResult(exit_code=0, duration_s=0.0)


register_agent(Tester.name, Tester)
'''


@needs_bwrap
def test_in_a_cell_the_agent_finds_pytest_on_its_path(pytester):
    make_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST + TESTER_CONFTEST)
    make_config(pytester.path, agents=("tester",))
    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=1)
    row = json.loads((pytester.path / "results/demo/raw.jsonl").read_text().splitlines()[-1])
    assert row["outcome"] == "pass" and row["sandbox"]["agent"] == "bwrap"
    assert row["agent_test_commands"] == ["pytest"]
    kept = pytester.path / "results/demo" / row["output_ref"] / "workspace"
    before, after = ((kept / name).read_text() for name in ("tests-before.txt", "tests-after.txt"))
    assert "3 failed" in before and "exit=1" in before, before
    assert "3 passed" in after and "exit=0" in after, after

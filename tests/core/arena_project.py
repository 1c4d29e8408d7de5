"""Builders for small arena projects inside a pytester directory: task folders, configs and
conftest-registered test agents (cheaters, sleepers)."""
from __future__ import annotations

import textwrap
from pathlib import Path

ADDER_TESTS = '''\
from adder import add, total


def test_add_small():
    assert add(2, 3) == 5


def test_add_negative():
    assert add(-2, -3) == -5


def test_total():
    assert total([1, 2, 3, 4]) == 10
'''
ADDER_STUB = '''\
def add(a, b):
    raise NotImplementedError


def total(values):
    raise NotImplementedError
'''
ADDER_REFERENCE = '''\
def add(a, b):
    return a + b


def total(values):
    result = 0
    for v in values:
        result = add(result, v)
    return result
'''


def make_task(root: Path, task_id: str = "demo/adder", task_class: str = "puzzles", *,
              tests: str = ADDER_TESTS, stub: str = ADDER_STUB, reference: str = ADDER_REFERENCE,
              module: str = "adder", timeout_s: int = 60) -> Path:
    slug = task_id.split("/", 1)[1]
    folder = root / "tasks" / task_class / slug
    for part in ("workspace", "tests", "reference"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text(textwrap.dedent(f"""\
        id: {task_id}
        class: {task_class}
        shape: {"puzzle" if task_class == "puzzles" else "D6"}
        title: {slug}
        timeout_s: {timeout_s}
        scoring_timeout_s: 30
        tests_visible: true
        source: pytest-arena test fixture
        license: MIT
        stresses: the harness
        prompt: Implement {module}.py so that the tests pass. Run the tests with `pytest -q`.
        """))
    (folder / "workspace" / f"{module}.py").write_text(stub)
    (folder / "tests" / f"test_{module}.py").write_text(tests.replace("from adder", f"from {module}"))
    (folder / "reference" / f"{module}.py").write_text(reference)
    return folder


def make_config(root: Path, name: str = "arena.yaml", *, agents=("oracle", "null"), expect=None,
                seeds=(42,), extra: str = "", classes=("puzzles",), out_dir: str = "results/demo",
                strategies=None, timeout_s: int | None = None) -> Path:
    lines = [
        "variant_tag: demo",
        f"out_dir: {out_dir}",
        "models: {cloud: scripted, local: embedded/smollm2-135m}",
        "benchmark:",
        f"  task_classes: [{', '.join(classes)}]",
        f"  agents: [{', '.join(agents)}]",
        f"  seeds: [{', '.join(map(str, seeds))}]",
    ]
    if expect:
        lines.append("  expect: {" + ", ".join(f"{k}: {v}" for k, v in expect.items()) + "}")
    if timeout_s:
        lines.append(f"  timeout_s: {timeout_s}")
    if strategies:
        lines.append(f"  strategies: [{', '.join(strategies)}]")
    lines += ["analysis: {resamples: 200, charts: false}"]
    path = root / name
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
    return path


TEST_AGENTS_CONFTEST = '''\
import os
import time
from pathlib import Path

from pytest_arena.agents.base import AgentAdapter, AgentResult
from pytest_arena.agents.process import base_env, run_process
from pytest_arena.agents.registry import register_agent


class _Builtin(AgentAdapter):
    uses_llm = False

    def version(self, install_root):
        return os.environ.get("TEST_AGENT_VERSION", "test-1")  # a test upgrades the agents by setting it

    def install_command(self, install_root):
        return "(test agent)"


class Cheater(_Builtin):
    """Rewrites and deletes the visible tests and plants a conftest that flips failures."""
    name = "cheater"

    def run(self, ctx):
        tests = [ctx.workspace / rel for rel in ctx.task.test_files if rel.endswith(".py")]
        tests[0].write_text("def test_fine():\\n    assert True\\n")
        for extra in tests[1:]:
            extra.unlink(missing_ok=True)
        (ctx.workspace / "conftest.py").write_text(
            "import pytest\\n"
            "@pytest.hookimpl(hookwrapper=True)\\n"
            "def pytest_runtest_makereport(item, call):\\n"
            "    outcome = yield\\n"
            "    outcome.get_result().outcome = 'passed'\\n")
        return AgentResult(exit_code=0, duration_s=0.0)


class Sleeper(_Builtin):
    """Applies the reference slowly (for crash/resume tests), or hangs past its timeout."""
    name = "sleeper"

    def run(self, ctx):
        seconds = float(os.environ.get("SLEEPER_SECONDS", "0.5"))
        result = run_process(["sleep", str(seconds)], cwd=ctx.workspace, env=base_env(ctx.home),
                             timeout_s=ctx.timeout_s, log_dir=ctx.log_dir, sandbox=ctx.sandbox)
        if result.timed_out:
            return AgentResult(exit_code=None, duration_s=result.duration_s, failure="timeout",
                               reason=f"killed after {ctx.timeout_s:g} s")
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        return AgentResult(exit_code=0, duration_s=result.duration_s)


class Crasher(_Builtin):
    name = "crasher"

    def run(self, ctx):
        result = run_process(["sh", "-c", "echo boom >&2; exit 3"], cwd=ctx.workspace, env=base_env(ctx.home),
                             timeout_s=ctx.timeout_s, log_dir=ctx.log_dir, sandbox=ctx.sandbox)
        return AgentResult(exit_code=result.exit_code, duration_s=result.duration_s, failure="agent_crash",
                           reason=result.tail().strip())


class Missing(_Builtin):
    name = "missing"

    def version(self, install_root):
        return None

    def install_command(self, install_root):
        return "python -m pytest_arena setup --agents missing"

    def run(self, ctx):
        raise AssertionError("never runs")


class Caller(_Builtin):
    """An LLM agent that only needs its backends ready (it makes no call itself)."""
    name = "caller"
    uses_llm = True

    def run(self, ctx):
        assert ctx.endpoints.openai_base.endswith("/v1") and "/run/" in ctx.endpoints.openai_base
        return AgentResult(exit_code=0, duration_s=0.0)


for cls in (Cheater, Sleeper, Crasher, Missing, Caller):
    register_agent(cls.name, cls)
'''


# Appended to TEST_AGENTS_CONFTEST where a cell must really use its local model.
CHATTER_CONFTEST = '''

import json as _json
import urllib.request as _request


class Chatter(_Builtin):
    """One chat through the router (Ollama protocol), then the reference: a cell that uses its model."""
    name = "chatter"
    uses_llm = True

    def run(self, ctx):
        body = {"model": ctx.endpoints.model, "stream": False, "messages": [{"role": "user", "content": ctx.prompt}]}
        req = _request.Request(ctx.endpoints.ollama_base + "/api/chat", data=_json.dumps(body).encode(),
                               headers={"Authorization": "Bearer " + ctx.endpoints.api_key,
                                        "Content-Type": "application/json"})
        _request.urlopen(req, timeout=60).read()
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        return AgentResult(exit_code=0, duration_s=0.0)


register_agent(Chatter.name, Chatter)
'''


def two_model_config(root: Path, urls: list[str], strategies=("always-local", "always-cloud"), seeds=(1, 2)) -> None:
    """Two local models, each host its own (fake) Ollama, the chatter agent."""
    hosts = "".join(f"    gw{i}: {{local_base_url: '{url}'}}\n" for i, url in enumerate(urls))
    (root / "arena.yaml").write_text(
        "variant_tag: demo\nout_dir: results/demo\n"
        f"models: {{cloud: scripted, local: [ollama/model-a, ollama/model-b], local_base_url: '{urls[0]}'}}\n"
        f"benchmark: {{task_classes: [puzzles], agents: [chatter], seeds: [{', '.join(map(str, seeds))}], "
        f"strategies: [{', '.join(strategies)}]}}\n"
        "analysis: {resamples: 200, charts: false}\n"
        f"hosts:\n  workers:\n{hosts}")


def two_task_project(pytester, conftest: str = TEST_AGENTS_CONFTEST):
    """A pytester project with the adder and multiplier tasks (one class) and the test agents,
    plus whatever ``conftest`` adds to them."""
    make_task(pytester.path)
    make_task(pytester.path, "demo/multiplier", module="multiplier")
    pytester.makeconftest(conftest)
    return pytester

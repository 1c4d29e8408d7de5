"""Every installed agent, end to end: the real binary from its pinned install, pointed by its
adapter at the fake LLM server's run-scoped URLs, must write the task's file through its own
tools (aider: whole-file text) and the adapter must read its exit and own usage report.

Skipped per agent when it is not installed (``python -m pytest_arena setup --agents all``).
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from pytest_arena.agents.registry import get_agent

from .conftest import (
    INSTALL_ROOT,
    REAL_AGENTS,
    REFERENCE_CONTENT,
    REFERENCE_FILE,
    installed,
    make_context,
    real_home_agent_dirs,
)
from .fake_llm import COMPLETION_TOKENS, PROMPT_TOKENS, WritePlan

pytestmark = pytest.mark.slow

MINI_SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
# Which protocol path each agent must use.
EXPECTED_PATH = {
    "aider": "/v1/chat/completions",
    "mini-swe-agent": "/v1/chat/completions",
    "cline": "/v1/chat/completions",
    "opencode": "/v1/chat/completions",
    "claude-code": "/v1/messages",
    "codex": "/v1/responses",
}
# Agents that pass the cell's seed on to the model request.
SEEDED = {"aider", "mini-swe-agent", "opencode"}
# Agents whose own report counts the same model calls the server answered.
EXACT_USAGE = {"mini-swe-agent", "cline", "claude-code", "codex"}


def skip_unless_installed(agent: str) -> None:
    if not installed(agent):
        pytest.skip(f"{agent} is not installed in {INSTALL_ROOT}; run: "
                    f"python -m pytest_arena setup --agents {agent}")


@pytest.mark.parametrize("agent", REAL_AGENTS)
def test_agent_writes_the_file_through_the_router_urls(agent, task, tmp_path, fake_llm, sentinel_home):
    skip_unless_installed(agent)
    run_id = uuid.uuid4().hex[:12]
    ctx = make_context(tmp_path, task, endpoints=fake_llm.endpoints(run_id), install_root=INSTALL_ROOT)
    fake_llm.register(run_id, WritePlan(str(ctx.workspace), REFERENCE_FILE, REFERENCE_CONTENT,
                                        finish_command=MINI_SUBMIT if agent == "mini-swe-agent" else None))
    before = real_home_agent_dirs()

    start = time.monotonic()
    result = get_agent(agent).run(ctx)
    wall = time.monotonic() - start
    print(f"{agent}: e2e wall {wall:.1f}s, {len(fake_llm.calls(run_id))} model calls")

    assert result.failure is None, (result.reason, (ctx.log_dir / f"{agent}.stderr.log").read_text()[-2000:])
    assert result.exit_code == 0
    assert (ctx.workspace / REFERENCE_FILE).read_text() == REFERENCE_CONTENT
    # The workspace holds the task's files and the agent's work, no agent config or history.
    files = sorted(p.relative_to(ctx.workspace).as_posix() for p in ctx.workspace.rglob("*") if p.is_file())
    assert files == ["README.md", REFERENCE_FILE]

    calls = fake_llm.calls(run_id)
    assert calls, "the agent made no model call on its run-scoped URL"
    assert {c.path for c in calls} == {f"/run/{run_id}{EXPECTED_PATH[agent]}"}
    assert (ctx.log_dir / f"{agent}.stdout.log").stat().st_size > 0
    if agent in SEEDED:
        assert {c.body.get("seed") for c in calls} == {ctx.seed}

    report = result.reported
    assert report is not None
    if agent in EXACT_USAGE:
        assert report["prompt_tokens"] == PROMPT_TOKENS * len(calls)
        assert report["completion_tokens"] == COMPLETION_TOKENS * len(calls)
    else:  # aider counts tokens itself; opencode leaves its title call out
        assert report["prompt_tokens"] > 0 and report["completion_tokens"] > 0
    if "calls" in report:
        expected_calls = len([c for c in calls if c.body.get("tools")]) if agent == "opencode" else len(calls)
        assert report["calls"] == expected_calls

    assert not (ctx.home / ".npm").exists(), "the agent fetched npm packages at run time"
    assert list(sentinel_home.iterdir()) == [], "the agent wrote into the user's HOME"
    assert real_home_agent_dirs() == before, "the agent created a config folder in the real home"


def test_a_stalled_agent_times_out_and_its_processes_are_gone(task, tmp_path, fake_llm, sentinel_home):
    agent = "claude-code"  # the quickest to start
    skip_unless_installed(agent)
    run_id = uuid.uuid4().hex[:12]
    ctx = make_context(tmp_path, task, endpoints=fake_llm.endpoints(run_id), install_root=INSTALL_ROOT,
                       timeout_s=4.0)
    fake_llm.register(run_id, WritePlan(str(ctx.workspace), REFERENCE_FILE, REFERENCE_CONTENT, stall_s=30))
    result = get_agent(agent).run(ctx)
    assert result.failure == "timeout"
    assert result.exit_code is None
    assert "4s" in result.reason
    assert not (ctx.workspace / REFERENCE_FILE).exists()
    # No process of the cell survives: nothing still runs with the cell's home in its environment.
    leftovers = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if f"HOME={ctx.home}".encode() in environ:
            leftovers.append(proc.name)
    assert leftovers == []


def test_an_agent_whose_model_calls_fail_is_an_agent_crash_with_a_reason(task, tmp_path, fake_llm, sentinel_home):
    agent = "codex"
    skip_unless_installed(agent)
    # An unregistered run id: the fake answers 404 to every model call.
    ctx = make_context(tmp_path, task, endpoints=fake_llm.endpoints("no-such-run"), install_root=INSTALL_ROOT,
                       timeout_s=60.0)
    result = get_agent(agent).run(ctx)
    print(f"{agent} against a failing endpoint: exit {result.exit_code}, {result.reason}")
    assert result.failure == "agent_crash"
    assert result.reason
    assert not (ctx.workspace / REFERENCE_FILE).exists()

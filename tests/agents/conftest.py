"""Fixtures for the agent adapter tests: a task folder, a cell context, a fake install root and
the fake LLM server."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from pytest_arena.agents.base import AgentRunContext
from pytest_arena.agents.installers import MARKER_NAME
from pytest_arena.agents.process import UNSANDBOXED
from pytest_arena.agents.registry import get_agent
from pytest_arena.paths import default_install_root
from pytest_arena.tasks.folder import Task, load_task

from .fake_llm import FakeLLM

REAL_AGENTS = ("aider", "mini-swe-agent", "cline", "opencode", "claude-code", "codex")
# Resolved once at import, before any test changes HOME.
INSTALL_ROOT = default_install_root()
TASK_PROMPT = "Create the file notes/hello.txt containing one line: hi from arena. Change nothing else."
REFERENCE_FILE = "notes/hello.txt"
REFERENCE_CONTENT = "hi from arena\n"


def write_task(root: Path) -> Task:
    folder = root / "tasks" / "puzzles" / "hello"
    for part in ("workspace", "tests", "reference/notes"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text(textwrap.dedent(f"""\
        id: puzzles/hello
        class: puzzles
        shape: puzzle
        title: Write a greeting file
        timeout_s: 60
        tests_visible: false
        source: pytest-arena test suite
        license: MIT
        stresses: creating one file
        prompt: "{TASK_PROMPT}"
        """), "utf-8")
    (folder / "workspace" / "README.md").write_text("A task workspace.\n", "utf-8")
    (folder / "tests" / "test_hello.py").write_text(
        "from pathlib import Path\n\n\ndef test_hello():\n"
        f"    assert Path({REFERENCE_FILE!r}).read_text() == {REFERENCE_CONTENT!r}\n", "utf-8")
    (folder / "reference" / REFERENCE_FILE).write_text(REFERENCE_CONTENT, "utf-8")
    return load_task(folder)


@pytest.fixture
def task(tmp_path: Path) -> Task:
    return write_task(tmp_path)


def make_context(tmp_path: Path, task: Task, *, endpoints, install_root: Path, timeout_s: float = 120.0,
                 seed: int = 7) -> AgentRunContext:
    cell = tmp_path / "cell"
    workspace = cell / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    for rel, content in task.files("workspace").items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_bytes(content)
    return AgentRunContext(
        task=task, workspace=workspace, prompt=task.prompt, endpoints=endpoints, seed=seed,
        timeout_s=timeout_s, home=cell / "home", log_dir=cell / "logs", install_root=install_root,
        sandbox=UNSANDBOXED,  # the adapters' own tests run them as plain processes
    )


def fake_install(root: Path, agent: str) -> Path:
    """An install root where ``agent`` looks installed (marker + executable stub)."""
    adapter = get_agent(agent)
    agent_dir = root / agent
    binary = adapter.pinned.binary_path(agent_dir)
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    (agent_dir / MARKER_NAME).write_text(json.dumps({"version": adapter.pinned.version}))
    return root


def installed(agent: str) -> bool:
    return get_agent(agent).version(INSTALL_ROOT) is not None


@pytest.fixture(scope="session")
def fake_llm():
    with FakeLLM() as server:
        yield server


@pytest.fixture
def sentinel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test process's HOME, pointed at an empty folder that must stay empty."""
    home = tmp_path / "user-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "CODEX_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ARENA_AGENTS_DIR", str(INSTALL_ROOT))
    return home


def real_home_agent_dirs() -> dict[str, bool]:
    """Per-user agent folders under the account's real home (from passwd, not $HOME)."""
    import pwd

    home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    names = [".cline", ".codex", ".aider", ".config/opencode", ".local/share/opencode",
             ".config/mini-swe-agent", ".claude.json"]
    return {name: (home / name).exists() for name in names}

"""The agent adapter contract.

An adapter knows one external coding agent: whether it is installed (and its version), how to
install it pinned and isolated, the exact command and environment for one run against run-scoped
router URLs, and how to read its exit, its own usage report and its failure modes.

Adapters register by name in ``pytest_arena.agents.registry``; third parties add one through the
``pytest_arena.agents`` entry-point group (value: an ``AgentAdapter`` subclass).
"""
from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pytest_arena.router.contracts import RunEndpoints
from pytest_arena.sandbox.base import RouterLink
from pytest_arena.tasks.base import Task

AgentFailure = Literal["timeout", "agent_crash"]


@dataclass(frozen=True)
class AgentSandbox:
    """Where one cell's agent processes run: ``kind`` is a registered sandbox kind's name (what
    ``sandbox.agents`` names, recorded in the row as sandbox.agent), shown ``writable`` and
    ``readonly`` paths, the router as its one network peer, and the largest file its processes
    can write (RLIMIT_FSIZE)."""

    kind: str
    writable: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = ()
    router: RouterLink | None = None
    file_bytes: int | None = None
    path: tuple[Path, ...] = ()  # folders put first on its processes' PATH: the task's test commands,
    test_commands: tuple[str, ...] = ()  # named here (cell/agent_tools.py), e.g. ("pytest",)


@dataclass(frozen=True)
class AgentRunContext:
    task: Task
    workspace: Path  # the agent's cwd; it holds only the task's public files
    prompt: str  # the task's prompt, unchanged
    endpoints: RunEndpoints | None  # None for non-LLM agents
    seed: int
    timeout_s: float
    home: Path  # isolated HOME / config dir for this cell (never the user's real one)
    log_dir: Path  # stdout.log / stderr.log and agent-specific artifacts go here
    install_root: Path  # where `setup` installed agents (one venv or npm prefix per agent)
    sandbox: AgentSandbox  # every process of the agent runs here: run_process(..., sandbox=ctx.sandbox)


@dataclass
class AgentResult:
    exit_code: int | None
    duration_s: float
    failure: AgentFailure | None = None  # None: the agent finished by itself
    reason: str = ""  # human-readable detail for failures
    reported: dict[str, Any] | None = None  # the agent's own usage/cost report, parsed
    extra: dict[str, Any] = field(default_factory=dict)


class AgentAdapter(abc.ABC):
    name: ClassVar[str]
    uses_llm: ClassVar[bool] = True
    # A one-line note that the reports print next to this agent's numbers (e.g. harness check).
    label_note: ClassVar[str] = ""

    @abc.abstractmethod
    def version(self, install_root: Path) -> str | None:
        """The installed version, or None when the agent is not installed there."""

    @abc.abstractmethod
    def install_command(self, install_root: Path) -> str:
        """The command a user runs to install this agent (shown when it is missing)."""

    # The LLM agents override this default.
    def install(self, install_root: Path, log: Callable[[str], None]) -> None:  # pragma: no cover
        """Install pinned and isolated under install_root; idempotent; ``log(str)`` per step."""
        log(f"{self.name}: nothing to install")

    def sandbox_paths(self, install_root: Path) -> list[Path]:
        """What the agent's processes need to read besides the system: its own install. Bound
        read-only into its sandbox; nothing else of the host is visible there."""
        return []

    @abc.abstractmethod
    def run(self, ctx: AgentRunContext) -> AgentResult:
        """Run the agent once on ctx.workspace; never raise for agent misbehaviour."""

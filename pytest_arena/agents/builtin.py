"""The non-LLM agents that validate the harness itself: ``oracle`` applies the task's reference
solution, ``null`` does nothing. Their numbers are harness checks, never model results."""
from __future__ import annotations

import time
from pathlib import Path

from pytest_arena.agents.base import AgentAdapter, AgentResult, AgentRunContext
from pytest_arena.version import __version__


class OracleAgent(AgentAdapter):
    name = "oracle"
    uses_llm = False
    label_note = "harness check: applies the reference solution"

    def version(self, install_root: Path) -> str:
        return f"builtin-{__version__}"

    def install_command(self, install_root: Path) -> str:
        return "(built in)"

    def run(self, ctx: AgentRunContext) -> AgentResult:
        start = time.monotonic()
        for rel, content in ctx.task.files("reference").items():
            target = ctx.workspace / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return AgentResult(exit_code=0, duration_s=time.monotonic() - start)


class NullAgent(AgentAdapter):
    name = "null"
    uses_llm = False
    label_note = "harness check: changes nothing"

    def version(self, install_root: Path) -> str:
        return f"builtin-{__version__}"

    def install_command(self, install_root: Path) -> str:
        return "(built in)"

    def run(self, ctx: AgentRunContext) -> AgentResult:
        return AgentResult(exit_code=0, duration_s=0.0)

"""Agent adapters by name: the built-ins, the six real agents, and entry-point plugins."""
from __future__ import annotations

import importlib
from functools import cache, lru_cache
from importlib.metadata import entry_points
from typing import cast

from pytest_arena.agents.base import AgentAdapter

# name -> "module:Class"; modules are imported only when the agent is used.
BUILTIN_AGENTS: dict[str, str] = {
    "oracle": "pytest_arena.agents.builtin:OracleAgent",
    "null": "pytest_arena.agents.builtin:NullAgent",
    "aider": "pytest_arena.agents.aider:AiderAgent",
    "mini-swe-agent": "pytest_arena.agents.mini_swe:MiniSweAgent",
    "cline": "pytest_arena.agents.cline:ClineAgent",
    "opencode": "pytest_arena.agents.opencode:OpencodeAgent",
    "claude-code": "pytest_arena.agents.claude_code:ClaudeCodeAgent",
    "codex": "pytest_arena.agents.codex:CodexAgent",
}
ENTRY_POINT_GROUP = "pytest_arena.agents"


_registered: dict[str, type[AgentAdapter]] = {}


def register_agent(name: str, cls: type[AgentAdapter]) -> None:
    """Register an adapter class in-process (e.g. from a conftest.py) under ``name``."""
    _registered[name] = cls
    get_agent.cache_clear()


@lru_cache(maxsize=1)
def _entry_point_agents() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_agents() -> dict[str, str | type[AgentAdapter]]:
    """Every agent by name: a "module:Class" target not imported yet, or a registered class."""
    agents: dict[str, str | type[AgentAdapter]] = dict(BUILTIN_AGENTS)
    for name, target in _entry_point_agents().items():
        agents.setdefault(name, target)
    agents.update(_registered)
    return agents


@cache
def get_agent(name: str) -> AgentAdapter:
    target = known_agents()[name]
    if isinstance(target, str):
        module_name, _, class_name = target.partition(":")
        target = cast(type[AgentAdapter], getattr(importlib.import_module(module_name), class_name))
    return target()

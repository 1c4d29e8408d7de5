"""Agent adapters by name: the built-ins, the six real agents, and entry-point plugins."""
from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points

from .base import AgentAdapter

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


@lru_cache(maxsize=1)
def known_agents() -> dict[str, str]:
    agents = dict(BUILTIN_AGENTS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        agents.setdefault(ep.name, ep.value)
    return agents


@lru_cache(maxsize=None)
def get_agent(name: str) -> AgentAdapter:
    target = known_agents()[name]
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls()

"""Errors a user can cause. Each carries one message that names the file, the field and the fix;
the plugin prints it without a traceback."""
from __future__ import annotations


class ArenaError(Exception):
    """Base for user-facing errors."""


class ConfigError(ArenaError):
    pass


class TaskError(ArenaError):
    pass


class AgentNotInstalled(ArenaError):
    pass


class SolutionError(ArenaError):
    """What the agent left cannot be recorded as its solution (a real-prs workspace git cannot
    diff, say). The agent's doing: its cell is a ``fail`` with this reason, never an infra_error."""

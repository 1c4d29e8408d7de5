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


class ScoringUnavailable(ArenaError):
    """This machine cannot score a task (say, its project's Python is not installed here): raised
    by a task's ``scoring_env`` or ``materialise`` (pytest_arena/tasks/base.py). Its cells are
    infra_error with the message; the start-of-session reference check skips the task."""

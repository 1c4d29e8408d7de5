"""Where pytest-arena keeps its machine-level files (the agents it installs, the scoring
environment, prepared real-prs instances) and where the base interpreter is: one rule each, at
the bottom of the package, so a stage that needs one (scoring, tasks, the session) imports
neither the agents' installers nor the sandbox for it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["base_python", "default_install_root"]


def default_install_root() -> Path:
    """``$ARENA_AGENTS_DIR`` or ``~/.cache/pytest-arena/agents``."""
    configured = os.environ.get("ARENA_AGENTS_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "pytest-arena" / "agents"


def base_python() -> str:
    """The base interpreter (not a venv's): it needs nothing but its own prefix, which every
    sandbox binds read-only."""
    candidate = getattr(sys, "_base_executable", None) or sys.executable
    return str(Path(candidate).resolve()) if Path(candidate).exists() else sys.executable

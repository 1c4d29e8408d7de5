"""Where pytest-arena keeps its machine-level files: the agents it installs, the scoring
environment, prepared real-prs instances. One rule, at the bottom of the package, so a stage that
needs the folder (scoring, tasks, the session) does not import the agents' installers for it."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_install_root"]


def default_install_root() -> Path:
    """``$ARENA_AGENTS_DIR`` or ``~/.cache/pytest-arena/agents``."""
    configured = os.environ.get("ARENA_AGENTS_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "pytest-arena" / "agents"

"""Where pytest-arena keeps its machine-level files (the agents it installs, the scoring
environment, prepared real-prs instances), where the task suites and configs it ships are, and
where the base interpreter is: one rule each, at the bottom of the package, so a stage that needs
one (scoring, tasks, the session, setup) imports neither the agents' installers nor the sandbox
for it.

The shipped suites are read, never written: an installed package may sit in a read-only
site-packages, so whatever a run makes goes under the user's folders (the results folder, the
install root below, ``$XDG_STATE_HOME``)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Literal

__all__ = ["PACKAGE_DIR", "SUITES_FOLDER", "base_python", "default_install_root", "shipped_dir"]

PACKAGE_DIR = Path(__file__).resolve().parent
# In a wheel the repository's top-level tasks/ and configs/ are installed as pytest_arena/suites/tasks
# and pytest_arena/suites/configs (pyproject's [tool.setuptools] package-dir).
SUITES_FOLDER = "suites"


def default_install_root() -> Path:
    """``$ARENA_AGENTS_DIR`` or ``~/.cache/pytest-arena/agents``."""
    configured = os.environ.get("ARENA_AGENTS_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "pytest-arena" / "agents"


def shipped_dir(name: Literal["tasks", "configs"]) -> Path:
    """The task suites (``tasks``) or the configs (``configs``) shipped with pytest-arena:
    ``pytest_arena/suites/<name>`` in an installed wheel, the repository's top-level folder of that
    name in a checkout (an editable install)."""
    installed = PACKAGE_DIR / SUITES_FOLDER / name
    return installed if installed.is_dir() else PACKAGE_DIR.parent / name


def base_python() -> str:
    """The base interpreter (not a venv's): it needs nothing but its own prefix, which every
    sandbox binds read-only."""
    candidate = getattr(sys, "_base_executable", None) or sys.executable
    return str(Path(candidate).resolve()) if Path(candidate).exists() else sys.executable

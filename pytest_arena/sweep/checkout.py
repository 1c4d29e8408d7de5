"""Which git commit a checkout is at: the config's ``git_sha_pin`` check (the project's checkout),
and the provenance every row and the controller's host check record (pytest-arena's own).

Apart from the config because it asks git, not the YAML; a folder that is no checkout (an
installed wheel) or a missing git is an answer (None), never an error.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["git_head"]


def git_head(root: Path) -> str | None:
    """The commit ``root``'s checkout is at, or None (no git, no checkout, git too slow)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None

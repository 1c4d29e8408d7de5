"""Which git commit a checkout is at: the config's ``git_sha_pin`` check (the project's checkout),
and pytest-arena's own commit, which every row records as provenance only (hosts are compared by
content, ``pytest_arena/sweep/digest.py``, never by commit).

Apart from the config because it asks git, not the YAML; a folder that is no checkout (an
installed wheel) or a missing git is an answer (None), never an error.
"""
from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

__all__ = ["git_head", "package_git_sha"]


def git_head(root: Path) -> str | None:
    """The commit ``root``'s checkout is at, or None (no git, no checkout, git too slow)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@cache
def package_git_sha() -> str | None:
    """The commit of the checkout pytest-arena itself runs from, or None: a pip install or a copied
    tree, even one inside another project's checkout (a venv in the user's repository), has none."""
    root = Path(__file__).resolve().parents[2]  # holds the pytest_arena folder
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split("\n")
    if out.returncode != 0 or len(lines) < 2 or Path(lines[0]).resolve() != root:
        return None
    return lines[1].strip() or None

"""Folder copies and atomic publishing, shared by the instance store (``prepare``) and the
project environments (``env``): neither needs the other for them."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["copy_tree", "publish"]


def copy_tree(source: Path, dest: Path) -> None:
    """A private copy of ``source`` in ``dest``: copy-on-write where the file system has it,
    otherwise a plain copy (never hard links: agents edit files in place)."""
    run = subprocess.run(["cp", "-a", "--reflink=auto", f"{source}/.", str(dest)], capture_output=True, text=True)
    if run.returncode != 0:
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)


def publish(staging: Path, dest: Path, marker: str) -> None:
    """Rename a finished staging folder into place; a concurrent builder that won keeps its copy."""
    try:
        staging.rename(dest)
    except OSError:
        if not (dest / marker).is_file():
            raise

"""What the hosts of a sweep compare instead of a git commit: the content of the installed
pytest-arena (its code and the data it reads) and of each task the sweep runs.

A worker joins a sweep only when its rows are measured with what the controller measures with
(``pytest_arena/plugin/hosts.py``). A git sha said that for a checkout only, and not even there
(uncommitted edits do not change it); a pip install or a copied tree has none. Digests of the
files themselves hold for all three, and a difference can be named: which files of the package,
which task.

- The package: every file under the folders of ``PACKAGES`` (the editable layout's ``pytest_arena/``
  and ``router/``, or the one ``pytest_arena/`` folder of a wheel: the keys are the same, e.g.
  ``pytest_arena/router/call.py``), but bytecode, documentation (``.md``, ``.rst``), hidden files,
  build metadata, task folders (a folder holding ``task.yaml``) and the shipped suites (a wheel's
  ``pytest_arena/suites/``, a checkout's top-level ``tasks/`` and ``configs/``): a sweep's tasks are
  compared task by task and its config setting by setting (``pytest_arena/plugin/hosts.py``), so a
  wheel and a checkout at the same content agree. Read once per process (``package_digest``).
- A task: its own ``content_digest`` (the files of its parts and its prompt) and its task.yaml
  fields, what a cell's measured settings hold of it.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_arena.paths import SUITES_FOLDER

if TYPE_CHECKING:
    from pytest_arena.tasks.base import Task

__all__ = ["PACKAGES", "SUITES", "PackageDigest", "digest_of", "package_digest", "package_folders", "task_digest"]

# The import packages whose folders hold the installed code. A package pyproject maps from a folder
# of its own ([tool.setuptools] package-dir) is listed here, or is a shipped suite under SUITES
# (tests/core/test_host_content.py checks).
PACKAGES = ("pytest_arena", "pytest_arena.router")
SUITES = f"pytest_arena/{SUITES_FOLDER}"  # a wheel's task suites and configs: not package content
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".md", ".rst")
TASK_FILE = "task.yaml"
FILE_SHA_CHARS = 16  # per file, enough to tell files apart; the package's sha256 covers the whole hashes


@dataclass(frozen=True)
class PackageDigest:
    """The installed package's content: one sha256, and each file's (for naming differences)."""

    sha256: str
    files: dict[str, str]  # "pytest_arena/router/call.py" -> the first FILE_SHA_CHARS of its sha256


def package_folders() -> dict[str, Path]:
    """Import path ("pytest_arena/router") -> the folder it is loaded from, on this host."""
    folders = {}
    for name in PACKAGES:
        spec = find_spec(name)
        locations = list(spec.submodule_search_locations or []) if spec else []
        if locations:
            folders[name.replace(".", "/")] = Path(locations[0]).resolve()
    return folders


def content_files(prefix: str, folder: Path) -> dict[str, Path]:
    """``prefix/<relative path>`` -> path of every content file under ``folder``."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        if TASK_FILE in filenames and Path(dirpath) != folder:
            dirnames[:] = []  # a shipped task: compared on its own (task_digest)
            continue
        here = f"{prefix}/{Path(dirpath).relative_to(folder).as_posix()}".removesuffix("/.")
        dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")
                       and not d.endswith(".egg-info") and f"{here}/{d}" != SUITES]
        for name in filenames:
            if name.startswith(".") or name.endswith(SKIPPED_SUFFIXES):
                continue
            path = Path(dirpath, name)
            found[f"{prefix}/{path.relative_to(folder).as_posix()}"] = path
    return found


@cache
def package_digest() -> PackageDigest:
    """The digest of the pytest-arena this process runs, read once."""
    return digest_of(package_folders())


def digest_of(folders: dict[str, Path]) -> PackageDigest:
    """The digest of the package folders given as ``package_folders`` gives them."""
    paths: dict[str, Path] = {}
    for prefix, folder in folders.items():
        paths.update(content_files(prefix, folder))
    whole = {rel: hashlib.sha256(paths[rel].read_bytes()).hexdigest() for rel in sorted(paths)}
    total = hashlib.sha256("".join(f"{rel}\0{sha}\n" for rel, sha in whole.items()).encode()).hexdigest()
    return PackageDigest(total, {rel: sha[:FILE_SHA_CHARS] for rel, sha in whole.items()})


def task_digest(task: Task) -> str:
    """A task's files, prompt and task.yaml fields, as one sha."""
    text = json.dumps([task.content_digest, task.spec.model_dump(mode="json")], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]

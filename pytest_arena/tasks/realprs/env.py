"""The interpreter environment an instance's tests run in, without Docker.

SWE-bench builds one image per (repo, version): the right Python, the requirements, and the
repository installed with ``pip install -e .``. Here: one folder per install recipe (interpreter
version, the project's source as released, the test requirements), filled by ``pip install
--target`` once and cached under ``<root>/envs/<content hash>/``; the second cell of an instance
starts with it ready. At scoring time pytest runs as all scoring does (the harness's clean
pytest, ``python -I -S``, in the sandbox) with the cell's own source folder first on ``sys.path``
(what an editable install does) and this folder after pytest's: the installed copy supplies the
distribution metadata and the dependencies, the cell's tree supplies the code under test.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from pytest_arena.errors import ScoringUnavailable
from pytest_arena.scoring.records import ScoringEnv
from pytest_arena.tasks.realprs.files import copy_tree, publish

_LAYOUT = "real-prs-env-1"
_DONE = "ENV.json"


class EnvError(ScoringUnavailable):
    """The instance's environment cannot be built here; one line says why (an infra_error)."""


@dataclass(frozen=True)
class EnvRecipe:
    """What an environment is made of; its digest names the folder."""

    instance_id: str  # for messages only (not in the digest)
    python: str  # version specifier ('' = any); SWE-bench's bare "3.9" means 3.9.*
    project: str  # what pip installs for the project: an sdist path or a repository folder
    project_digest: str  # sha256 of the sdist, or the repository's commit
    requirements: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        h = hashlib.sha256(json.dumps([_LAYOUT, interpreter_version(), sys.implementation.cache_tag,
                                       self.project_digest, sorted(self.requirements)]).encode())
        return h.hexdigest()[:20]


@dataclass(frozen=True)
class ProjectEnv(ScoringEnv):
    """The clean scoring env plus one instance's installed project and requirements."""

    site: Path | None = None
    source_root: str = "."  # relative to the scoring dir (the cell's copy of the repository)

    @property
    def readonly_paths(self) -> tuple[Path, ...]:
        return (*super().readonly_paths, *([self.site] if self.site else []))

    def command(self, pytest_args: list[str], *, bootstrap: str | None = None) -> list[str]:
        code = bootstrap or "import pytest\nraise SystemExit(pytest.main())\n"
        prelude = (f"import os, sys\nsys.path.insert(0, os.path.join(os.getcwd(), {self.source_root!r}))\n"
                   f"sys.path.append({str(self.path)!r})\nsys.path.append({str(self.site)!r})\n")
        return [self.python, "-I", "-S", "-B", "-c", prelude + code, *pytest_args]


def interpreter_version() -> str:
    return platform.python_version()


def check_python(recipe: EnvRecipe) -> None:
    """EnvError when the interpreter does not meet the instance's Python."""
    wanted = recipe.python.strip()
    if not wanted:
        return
    text = f"=={wanted}.*" if wanted[0].isdigit() else wanted
    try:
        spec = SpecifierSet(text)
    except InvalidSpecifier:
        raise EnvError(f"instance {recipe.instance_id}: python {wanted!r} is not a version specifier.") from None
    if interpreter_version() not in spec:
        raise EnvError(f"instance {recipe.instance_id} needs Python {wanted}; this machine scores with "
                       f"Python {interpreter_version()} ({sys.executable}): run the harness with that Python")


def build_env(recipe: EnvRecipe, base: ScoringEnv, root: Path, source_root: str = ".") -> ProjectEnv:
    """The instance's env over ``base`` (built on first use; later uses only check it is there)."""
    check_python(recipe)
    site = root / "envs" / recipe.key
    if not (site / _DONE).is_file():
        _build(recipe, site)
    return ProjectEnv(path=base.path, key=f"{base.key}+{recipe.key}", python=base.python,
                      python_roots=base.python_roots, site=site, source_root=source_root)


def _build(recipe: EnvRecipe, site: Path) -> None:
    site.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".build-{recipe.key}-", dir=site.parent))
    try:
        # pytest itself comes from the scoring env; a requirement naming it is left out.
        reqs = [r for r in recipe.requirements if not r.lower().startswith(("pytest ", "pytest=", "pytest<", "pytest>"))
                and r.lower() != "pytest"]
        project = recipe.project
        if Path(project).is_dir():  # a repository: pip builds in its tree (build/, *.egg-info), so in a copy
            project = str(Path(tempfile.mkdtemp(prefix=f".src-{recipe.key}-", dir=site.parent)) / "src")
            Path(project).mkdir()
            copy_tree(Path(recipe.project), Path(project))
        try:
            run = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "--no-warn-script-location", "--target", str(staging), project, *reqs],
                capture_output=True, text=True, timeout=900)
        finally:
            if project != recipe.project:
                shutil.rmtree(Path(project).parent, ignore_errors=True)
        if run.returncode != 0:
            tail = " ".join(line for line in (run.stderr or run.stdout).splitlines() if "WARNING" not in line)
            raise EnvError(f"instance {recipe.instance_id}: building its environment failed (pip install "
                           f"{' '.join([Path(recipe.project).name, *reqs])}): {tail[-300:]}")
        (staging / _DONE).write_text(json.dumps({**dataclasses.asdict(recipe),
                                                 "python_version": interpreter_version()}))
        publish(staging, site, _DONE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

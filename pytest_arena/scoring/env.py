"""The interpreter environment acceptance tests run in: pytest and its pure-Python dependencies,
copied once from the harness's own installation into a read-only, content-addressed folder.

An agent that can write the harness's site-packages (a ``.pth`` that loads a pass-all plugin, a
patched ``_pytest``) must not reach the scoring process. So scoring runs the base interpreter as
``python -I -S -B`` (isolated, no ``site``: no ``.pth`` files, no user or venv site-packages) with
only this folder appended to ``sys.path`` by a one-line bootstrap.

- Which files: the RECORD of ``pytest`` and of every distribution it requires (markers evaluated
  for this interpreter, extras left out), each file checked against its RECORD hash, so an
  installed file edited after installation is refused rather than copied.
- Where: ``<install root>/.scoring-env/<key>/``, next to the agents' installs (outside anything an
  agent sandbox binds), ``<key>`` a digest of the copied files and the interpreter version.
- Once: built in a temporary folder, byte-compiled (a read-only folder cannot cache bytecode, and
  compiling pytest on each run costs about 0.3 s), made read-only, then renamed into place; a
  concurrent builder that loses the rename uses the winner's copy. Each process checks the folder
  against its manifest once before trusting it.
"""
from __future__ import annotations

import base64
import compileall
import dataclasses
import functools
import hashlib
import importlib.metadata as metadata
import json
import logging
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import cast

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pytest_arena.errors import ArenaError
from pytest_arena.paths import default_install_root
from pytest_arena.scoring.records import ScoringEnv

_log = logging.getLogger(__name__)

ENV_FOLDER = ".scoring-env"
# Bumped when the layout of the folder changes, so an old copy is never mistaken for a new one.
_LAYOUT = "scoring-env-1"
_MANIFEST = "MANIFEST.json"
_ROOT_DISTRIBUTION = "pytest"


class ScoringEnvError(ArenaError):
    """The clean scoring environment cannot be built; the message says what to do."""


def env_root(install_root: Path | None = None) -> Path:
    """Where scoring envs live: beside the agents' installs (default: the default install root)."""
    return Path(install_root or default_install_root()).expanduser().resolve() / ENV_FOLDER


@functools.cache
def prepare(root: Path | None = None, search_path: tuple[str, ...] | None = None) -> ScoringEnv:
    """The scoring env under ``root`` (default: ``<install root>/.scoring-env``), built on first
    use and checked once per process. ``search_path`` (default ``sys.path``) is where the
    harness's distributions are looked up."""
    root = Path(root).resolve() if root else env_root()
    sources, hashes = _source_files(list(search_path) if search_path is not None else sys.path)
    key = _digest(hashes)
    env = ScoringEnv(path=root / key, key=key)
    if env.path.is_dir():
        if _intact(env.path, hashes):
            return env
        _log.warning("scoring env %s does not match its manifest: rebuilding it", env.path)
        _remove_read_only(env.path)
    _build(env, sources)
    return env


def _source_files(search_path: list[str]) -> tuple[dict[str, Path], dict[str, str]]:
    """Relative path -> installed file, and -> its sha256, for pytest and the distributions it
    requires."""
    files: dict[str, Path] = {}
    hashes: dict[str, str] = {}
    pending, seen = [_ROOT_DISTRIBUTION], set()
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        dist = next(iter(metadata.distributions(name=name, path=search_path)), None)
        if dist is None:
            raise ScoringEnvError(
                f"the scoring environment needs the distribution {name!r}, which is not installed "
                f"for {sys.executable}: reinstall pytest (pip install --force-reinstall pytest).")
        for rel, (path, digest) in _record_files(dist).items():
            files[rel], hashes[rel] = path, digest
        for spec in dist.requires or ():
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return files, hashes


def _record_files(dist: metadata.Distribution) -> dict[str, tuple[Path, str]]:
    """Relative path -> (file, sha256 hex) of each file the distribution installed into
    site-packages, each checked against its RECORD hash."""
    site = Path(cast(Path, dist.locate_file(""))).resolve()  # an installed dist: a pathlib.Path
    files = {}
    for entry in dist.files or ():
        path = Path(cast(Path, dist.locate_file(entry))).resolve()
        rel = entry.as_posix()
        if site not in path.parents or rel.endswith((".pyc", ".pth")) or "__pycache__" in entry.parts:
            continue  # scripts outside site-packages, bytecode, path hooks
        try:
            digest = hashlib.sha256(path.read_bytes()).digest()
        except OSError as exc:
            raise ScoringEnvError(
                f"{path}, installed by {dist.metadata['Name']} {dist.version}, cannot be read "
                f"({exc}): reinstall it (pip install --force-reinstall "
                f"{dist.metadata['Name']}=={dist.version}).") from None
        if entry.hash is not None:
            actual = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if entry.hash.mode != "sha256" or actual != entry.hash.value:
                raise ScoringEnvError(
                    f"{path} differs from its installation record ({dist.metadata['Name']} "
                    f"{dist.version}): it was changed after installation. Reinstall it "
                    f"(pip install --force-reinstall {dist.metadata['Name']}=={dist.version}).")
        files[rel] = (path, digest.hex())
    return files


def _digest(hashes: dict[str, str]) -> str:
    h = hashlib.sha256(f"{_LAYOUT}\0{sys.version}\0{sys.implementation.cache_tag}\0".encode())
    for rel in sorted(hashes):
        h.update(f"{rel}\0{hashes[rel]}\0".encode())
    return h.hexdigest()[:20]


def _build(env: ScoringEnv, sources: dict[str, Path]) -> None:
    env.path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".build-{env.key}-", dir=env.path.parent))
    staging.chmod(0o755)
    try:
        for rel, source in sources.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staging / rel)
        # ddir: tracebacks name the final folder, not this staging one.
        if not compileall.compile_dir(staging, ddir=str(env.path), quiet=1):
            raise ScoringEnvError(f"byte-compiling the scoring environment in {staging} failed.")
        (staging / _MANIFEST).write_text(json.dumps(_tree(staging), indent=0, sort_keys=True))
        _smoke_test(env, staging)
        for path in [*staging.rglob("*"), staging]:
            mode = path.lstat().st_mode
            path.chmod(stat.S_IMODE(mode) & ~0o222)
        try:
            staging.rename(env.path)
        except OSError:
            if not env.path.is_dir():
                raise
            _log.debug("scoring env %s was built concurrently; using that copy", env.path)
    finally:
        if staging.exists():
            _remove_read_only(staging)


def _smoke_test(env: ScoringEnv, staging: Path) -> None:
    """pytest must import from the copy alone (an editable or unusual install would not)."""
    probe = dataclasses.replace(env, path=staging)
    run = subprocess.run(probe.command(["--version"]), capture_output=True, text=True,
                         env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, timeout=120)
    if run.returncode != 0:
        raise ScoringEnvError(
            f"pytest does not run from the scoring environment copied to {staging} "
            f"(exit code {run.returncode}): {(run.stderr or run.stdout).strip()[-500:]}")


def _tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` but the manifest."""
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path != folder / _MANIFEST}


def _intact(folder: Path, hashes: dict[str, str]) -> bool:
    """Every file as its manifest records it (bytecode included), no file added or missing, and
    the sources those of the harness."""
    try:
        recorded = json.loads((folder / _MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return _tree(folder) == recorded and all(recorded.get(rel) == h for rel, h in hashes.items())


def _remove_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o700)
    shutil.rmtree(folder)

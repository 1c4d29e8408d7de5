"""From recipe to instance, and from instance to the prepared folder a cell starts from.

Recipe -> instance: both releases' sdists come from PyPI (``pip download --no-deps --no-binary
:all:``, kept in ``<root>/sdists``) and must match the recipe's sha256; the old release's tree,
git-initialised with one commit of fixed author and date (so ``base_commit`` is the same on every
machine), is the repository; ``patch`` and ``test_patch`` are ``git diff`` of the named files,
old -> new.

Instance -> prepared folder (``<root>/instances/<instance_id>/``, built in a staging folder and
renamed into place, so a half-built one is never used)::

    instance.json   the SWE-bench instance
    repo/           the repository at base_commit (a git checkout; the agent's workspace is a copy)
    tests/          the files test_patch touches, after it (restored before scoring)
    reference/      the files patch touches, after it (what the oracle agent writes)
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name

from ..agents.installers import default_install_root
from ..errors import ArenaError
from .instance import Instance
from .recipe import Recipe

ROOT_FOLDER = ".real-prs"
INSTANCE_FILE = "instance.json"
# A fixed identity and date: the base commit of a recipe's repository is reproducible.
_GIT_ENV = {"GIT_AUTHOR_NAME": "pytest-arena", "GIT_AUTHOR_EMAIL": "arena@localhost",
            "GIT_COMMITTER_NAME": "pytest-arena", "GIT_COMMITTER_EMAIL": "arena@localhost",
            "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


class PrepareError(ArenaError):
    """An instance cannot be prepared; the message names the recipe or instance and the fix."""


def real_prs_root(install_root: Path | None = None) -> Path:
    """Where downloads, prepared instances and environments live: beside the agents' installs."""
    return Path(install_root or default_install_root()).expanduser().resolve() / ROOT_FOLDER


def instance_dir(root: Path, instance_id: str) -> Path:
    return root / "instances" / instance_id


def git(*args: str, cwd: Path, stdin: str | None = None) -> str:
    run = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                         env={**os.environ, **_GIT_ENV})
    if run.returncode != 0:
        raise PrepareError(f"git {' '.join(args[:2])} failed in {cwd}: {(run.stderr or run.stdout).strip()[-300:]}")
    return run.stdout


# --- recipe -> instance -----------------------------------------------------------------------

def fetch_sdist(project: str, version: str, sha256: str, root: Path, where: str) -> Path:
    """The release's sdist from the cache or PyPI, checked against the recipe's hash."""
    cache = root / "sdists"
    cache.mkdir(parents=True, exist_ok=True)
    found = cached_sdist(cache, project, version)
    if found is None:
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            run = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                 "--no-deps", "--no-binary", ":all:", "-d", tmp, f"{project}=={version}"],
                capture_output=True, text=True)
            files = sorted(Path(tmp).glob("*.tar.gz"))
            if run.returncode != 0 or not files:
                tail = [line for line in (run.stderr or run.stdout).splitlines() if "WARNING" not in line]
                raise PrepareError(f"{where}: downloading the sdist of {project}=={version} from PyPI "
                                   f"failed: {' '.join(tail)[-300:] or 'no sdist'}. Check the connection to PyPI.")
            found = cache / files[0].name
            shutil.move(files[0], found)
    actual = hashlib.sha256(found.read_bytes()).hexdigest()
    if actual != sha256:
        raise PrepareError(f"{where}: the sdist {found.name} has sha256 {actual}, the recipe says {sha256}: "
                           f"fix the recipe's sha256 or delete {found} if the download was damaged.")
    return found


def cached_sdist(cache: Path, project: str, version: str) -> Path | None:
    for path in cache.glob("*.tar.gz"):
        name, _, rest = path.name[: -len(".tar.gz")].rpartition("-")
        if canonicalize_name(name) == canonicalize_name(project) and rest == version:
            return path
    return None


def unpack(sdist: Path, dest: Path) -> Path:
    """The sdist's single top-level folder, unpacked under ``dest``."""
    with tarfile.open(sdist) as archive:
        archive.extractall(dest, filter="data")
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise PrepareError(f"{sdist}: expected one top-level folder, found {len(tops)}.")
    return tops[0]


def instance_from_recipe(recipe: Recipe, root: Path, where: str) -> tuple[Instance, Path]:
    """The recipe's SWE-bench instance, and the repository it refers to (a git checkout at
    ``base_commit`` in a temporary folder the caller moves or removes)."""
    old_sdist = fetch_sdist(recipe.pypi, recipe.base.version, recipe.base.sha256, root, f"{where}: field 'base'")
    new_sdist = fetch_sdist(recipe.pypi, recipe.fix.version, recipe.fix.sha256, root, f"{where}: field 'fix'")
    scratch = Path(tempfile.mkdtemp(prefix="derive-", dir=root))
    try:
        old = unpack(old_sdist, scratch / "old")
        new = unpack(new_sdist, scratch / "new")
        for field in ("patch_files", "test_files"):
            for rel in getattr(recipe, field):
                if not (new / rel).is_file():
                    raise PrepareError(f"{where}: field '{field}': {rel} is not in {new_sdist.name}: "
                                       f"name files as they are in the fix release.")
        repo = old.rename(scratch / "repo")
        git("init", "-q", "-b", "main", cwd=repo)
        git("add", "-A", "-f", cwd=repo)
        git("commit", "-q", "--no-verify", "-m", f"{recipe.pypi} {recipe.base.version} (sdist)", cwd=repo)
        base_commit = git("rev-parse", "HEAD", cwd=repo).strip()
        patch = _diff_of(repo, new, recipe.patch_files)
        test_patch = _diff_of(repo, new, recipe.test_files)
        if not patch.strip():
            raise PrepareError(f"{where}: field 'patch_files': the files do not differ between "
                               f"{recipe.base.version} and {recipe.fix.version}.")
        instance = Instance(
            instance_id=recipe.instance_id, repo=recipe.repo, base_commit=base_commit,
            problem_statement=recipe.problem_statement.strip() + "\n", patch=patch, test_patch=test_patch,
            FAIL_TO_PASS=recipe.fail_to_pass, PASS_TO_PASS=recipe.pass_to_pass,
            version=recipe.base.version, environment_setup_commit=base_commit,
            hints_text="", created_at="")
        final = root / "repos" / f"{recipe.instance_id}-{base_commit[:12]}"
        if not final.is_dir():
            final.parent.mkdir(parents=True, exist_ok=True)
            repo.rename(final)
        return instance, final
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _diff_of(repo: Path, new: Path, files: list[str]) -> str:
    """``git diff`` of the named files between the repository's HEAD and the new release."""
    for rel in files:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(new / rel, repo / rel)
    try:
        git("add", "-f", "--", *files, cwd=repo)
        return git("diff", "--cached", "--no-color", "--no-ext-diff", "HEAD", "--", *files, cwd=repo)
    finally:
        git("reset", "-q", "--hard", "HEAD", cwd=repo)


# --- instance -> prepared folder --------------------------------------------------------------

def prepare_instance(instance: Instance, repo_source: Path, root: Path) -> Path:
    """The prepared folder of ``instance`` (built once); ``repo_source`` is a git repository that
    holds ``base_commit`` (our derived one, or the user's clone)."""
    dest = instance_dir(root, instance.instance_id)
    if (dest / INSTANCE_FILE).is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{instance.instance_id}-", dir=dest.parent))
    try:
        repo = staging / "repo"
        git("clone", "-q", "--no-checkout", "--no-hardlinks", str(repo_source), str(repo), cwd=staging)
        git("checkout", "-q", "--detach", instance.base_commit, cwd=repo)
        git("remote", "remove", "origin", cwd=repo)
        for part, diff in (("tests", instance.test_patch), ("reference", instance.patch)):
            _files_after(repo, diff, staging / part, f"instance {instance.instance_id}: field "
                         f"'{'test_patch' if part == 'tests' else 'patch'}'")
        (staging / INSTANCE_FILE).write_text(json.dumps(instance.model_dump(), indent=1))
        publish(staging, dest, INSTANCE_FILE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def publish(staging: Path, dest: Path, marker: str) -> None:
    """Rename a finished staging folder into place; a concurrent builder that won keeps its copy."""
    try:
        staging.rename(dest)
    except OSError:
        if not (dest / marker).is_file():
            raise


def _files_after(repo: Path, diff: str, out: Path, where: str) -> None:
    """Apply ``diff`` to the checkout, copy the files it leaves behind to ``out``, undo it."""
    out.mkdir()
    if not diff.strip():
        return
    run = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=repo, input=diff,
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise PrepareError(f"{where}: does not apply to base_commit: {run.stderr.strip()[-300:]}")
    try:
        for rel in touched_files(diff):
            if (repo / rel).is_file():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(repo / rel, out / rel)
    finally:
        git("checkout", "-q", "--", ".", cwd=repo)
        git("clean", "-q", "-fd", cwd=repo)


def touched_files(diff: str) -> list[str]:
    """The paths a unified git diff leaves (``+++ b/<path>``), deletions left out."""
    files = [line[len("+++ b/"):].strip() for line in diff.splitlines() if line.startswith("+++ b/")]
    return list(dict.fromkeys(files))


def user_repo(repos: Path, instance: Instance) -> Path:
    """The user's clone of the instance's repository: ``<repos>/<owner>__<name>``,
    ``<repos>/<owner>/<name>`` or ``<repos>/<name>``."""
    owner, name = instance.repo.split("/")
    for candidate in (repos / f"{owner}__{name}", repos / owner / name, repos / name):
        if (candidate / ".git").exists() or (candidate / "HEAD").is_file():
            return candidate
    raise PrepareError(f"instance {instance.instance_id}: no clone of {instance.repo} under {repos} "
                       f"(looked for {owner}__{name}, {owner}/{name}, {name}): `git clone "
                       f"https://github.com/{instance.repo} {repos / f'{owner}__{name}'}`.")

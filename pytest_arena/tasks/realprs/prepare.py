"""From recipe to instance, and from instance to the prepared folder a cell starts from.

Recipe -> instance: both releases' sdists come from PyPI (``pip download --no-deps --no-binary
:all:``, kept in ``<root>/sdists``) and must match the recipe's sha256; the old release's tree,
git-initialised with one commit of fixed author and date (so ``base_commit`` is the same on every
machine), is the repository; ``patch`` and ``test_patch`` are ``git diff`` of the named files,
old -> new (computed with a throwaway index and object folder: the repository never holds them).

Instance -> prepared folder (``<root>/instances/<instance_id>/``, built in a staging folder and
renamed into place, so a half-built one is never used)::

    instance.json   the SWE-bench instance
    repo/           the repository at base_commit (a git checkout; the agent's workspace is a copy)
    repo.json       the repository's fingerprint, checked before every cell (``check_unchanged``)
    tests/          the files test_patch touches, after it (restored before scoring)
    reference/      the files patch touches, after it (what the oracle agent writes)

The repository holds base_commit and what it reaches, nothing else: it is a fresh ``git init``
that fetched base_commit alone from the source (a recipe's derived repository, or the user's
clone with all its later history), so no later commit, no unreachable object and no reflog of
the source comes along. It is read-only to cells: each cell's workspace is a copy (its own object
store), the prediction diff writes to a throwaway object folder (``patch``), environments are built
from a copy (``env``), and ``check_unchanged`` refuses to start a cell from a repository that
changed since it was prepared (HEAD, refs, object files, git files, ``git status`` clean).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from pytest_arena.errors import ArenaError, TaskError
from pytest_arena.paths import default_install_root
from pytest_arena.tasks.realprs.files import publish
from pytest_arena.tasks.realprs.gitsafe import last_words, run_git
from pytest_arena.tasks.realprs.instance import Instance
from pytest_arena.tasks.realprs.recipe import Recipe

ROOT_FOLDER = ".real-prs"
INSTANCE_FILE = "instance.json"
FINGERPRINT_FILE = "repo.json"  # beside repo/: what check_unchanged compares
_LAYOUT = 2  # prepared folders of layout 1 (a full clone of the source) are prepared again


class PrepareError(ArenaError):
    """An instance cannot be prepared; the message names the recipe or instance and the fix."""


def real_prs_root(install_root: Path | None = None) -> Path:
    """Where downloads, prepared instances and environments live: beside the agents' installs."""
    return Path(install_root or default_install_root()).expanduser().resolve() / ROOT_FOLDER


def instance_dir(root: Path, instance_id: str) -> Path:
    return root / "instances" / instance_id


@contextmanager
def store_lock(root: Path) -> Iterator[None]:
    """Held while prepared folders are removed or made: two processes (xdist workers, two runs)
    never prepare the same store at once, nor remove a folder the other just made."""
    (root / "instances").mkdir(parents=True, exist_ok=True)
    with open(root / "instances" / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def git(*args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None,
        config: tuple[str, ...] = ()) -> str:
    """``git <args>`` on the repository checked out in ``cwd`` (named: ``cwd/.git``, and ``cwd``
    its work tree), or, for ``init``, in ``cwd``; PrepareError when it fails."""
    named = {} if args[0] == "init" else {"GIT_DIR": str(cwd / ".git"), "GIT_WORK_TREE": str(cwd)}
    run = run_git(list(args), cwd=cwd, input=None if stdin is None else stdin.encode("utf-8", "surrogateescape"),
                  env={**named, **(env or {})}, config=config)
    if run.returncode != 0:
        raise PrepareError(f"git {' '.join(args[:2])} failed in {cwd}: {last_words(run)}")
    return run.stdout.decode("utf-8", "surrogateescape")


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
            **{"hints_text": "", "created_at": ""})  # SWE-bench fields the model keeps as extras
        final = root / "repos" / f"{recipe.instance_id}-{base_commit[:12]}"
        final.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(final, ignore_errors=True)  # an older derivation's may hold other objects
        repo.rename(final)
        return instance, final
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _diff_of(repo: Path, new: Path, files: list[str]) -> str:
    """``git diff`` of the named files between the repository's HEAD and the new release, made
    with a throwaway index and object folder: the new release's blobs never enter the repository
    (its object store is what a cell's workspace starts from)."""
    with tempfile.TemporaryDirectory(prefix="arena-diff-") as tmp:
        (Path(tmp) / "objects").mkdir()
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_OBJECT_DIRECTORY": str(Path(tmp) / "objects"),
               "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(repo / ".git" / "objects"), "GIT_WORK_TREE": str(new)}
        git("read-tree", "HEAD", cwd=repo, env=env)
        git("add", "-f", "--", *files, cwd=repo, env=env)
        return git("diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "HEAD", "--", *files,
                   cwd=repo, env=env)


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
        _fetch_base(Path(repo_source).resolve(), repo, instance)
        for part, diff in (("tests", instance.test_patch), ("reference", instance.patch)):
            _files_after(repo, diff, staging / part, f"instance {instance.instance_id}: field "
                         f"'{'test_patch' if part == 'tests' else 'patch'}'")
        git("update-index", "-q", "--refresh", cwd=repo)
        (staging / FINGERPRINT_FILE).write_text(json.dumps(repo_fingerprint(repo), indent=1))
        (staging / INSTANCE_FILE).write_text(json.dumps(instance.model_dump(), indent=1))
        publish(staging, dest, INSTANCE_FILE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _fetch_base(source: Path, repo: Path, instance: Instance) -> None:
    """A new repository in ``repo`` holding base_commit and the objects it reaches, checked out
    (detached): fetched by its id, so nothing else of ``source`` (later commits, other branches,
    unreachable objects, reflogs, config, hooks) comes along."""
    fmt = ["--object-format=sha256"] if len(instance.base_commit) == 64 else []
    git("init", "-q", "--template=", *fmt, str(repo), cwd=repo.parent)
    try:
        git("fetch", "-q", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", str(source),
            instance.base_commit, cwd=repo, config=("uploadpack.allowAnySHA1InWant=true",))
    except PrepareError as exc:
        raise PrepareError(f"instance {instance.instance_id}: field 'base_commit': {instance.base_commit} "
                           f"cannot be fetched from {source}: {exc}") from None
    git("checkout", "-q", "--detach", instance.base_commit, cwd=repo)


# --- the prepared repository is read-only to cells ---------------------------------------------

def repo_fingerprint(repo: Path) -> dict[str, Any]:
    """What must not change in a prepared repository, cheaply: HEAD, a digest of its refs, the
    names and sizes of its object files (packs are not read), a digest of its other git files
    (config, info, hooks); the index is left out (``git status`` checks the work tree)."""
    gitdir = repo / ".git"
    parts: dict[str, list[list[object]]] = {"objects": [], "refs": [], "other": []}
    for folder, dirs, files in os.walk(gitdir):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            rel = path.relative_to(gitdir).as_posix()
            if rel == "index":
                continue
            if rel.startswith("objects/"):
                parts["objects"].append([rel, path.lstat().st_size])
            else:
                kind = "refs" if rel in ("HEAD", "packed-refs") or rel.startswith("refs/") else "other"
                parts[kind].append([rel, hashlib.sha256(path.read_bytes()).hexdigest()])
    digest = {kind: hashlib.sha256(json.dumps(items).encode()).hexdigest()[:32] for kind, items in parts.items()}
    return {"layout": _LAYOUT, "head": (gitdir / "HEAD").read_text().strip(), "object_files": len(parts["objects"]),
            "objects": digest["objects"], "refs": digest["refs"], "git_files": digest["other"]}


def check_unchanged(repo: Path, fingerprint_file: Path, base_commit: str, where: str) -> None:
    """TaskError (one line, naming what changed) unless ``repo`` is as prepared: HEAD at
    ``base_commit``, the same refs, object files and git files, and ``git status`` clean
    (nothing modified, nothing untracked or ignored in its work tree)."""
    def refuse(what: str) -> TaskError:
        return TaskError(f"{where}: its prepared repository {repo} changed since it was prepared ({what}); "
                         f"cells never write there: remove {repo.parent} and prepare it again "
                         f"(`python -m pytest_arena setup --tasks real-prs`; your own SWE-bench data is "
                         f"prepared again by the next run).")
    try:
        expected = json.loads(fingerprint_file.read_text("utf-8"))
        now = repo_fingerprint(repo)
    except (OSError, ValueError) as exc:
        raise refuse(f"its fingerprint cannot be read: {exc}") from None
    changed = [f"HEAD is {now['head']}, was {expected.get('head')}"] if now["head"] != expected.get("head") else []
    if now["head"] != base_commit:
        changed.append(f"HEAD is not base_commit {base_commit}")
    if now["object_files"] != expected.get("object_files") or now["objects"] != expected.get("objects"):
        changed.append(f"{now['object_files']} object files, {expected.get('object_files')} when prepared")
    changed += [f"its {label} changed" for key, label in (("refs", "refs"), ("git_files", "git files"))
                if now[key] != expected.get(key)]
    run = run_git(["status", "--porcelain=v1", "-z", "--ignored", "--untracked-files=all"],
                  git_dir=repo / ".git", cwd=repo, env={"GIT_WORK_TREE": str(repo)})
    if run.returncode != 0:
        changed.append(f"git status failed: {last_words(run)}")
    elif run.stdout:
        entries = [e.decode("utf-8", "replace") for e in run.stdout.split(b"\0") if e]
        more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
        changed.append(f"git status: {', '.join(json.dumps(e)[1:-1] for e in entries[:3])}{more}")
    if changed:
        raise refuse("; ".join(changed))


def _files_after(repo: Path, diff: str, out: Path, where: str) -> None:
    """Apply ``diff`` to the checkout, copy the files it leaves behind to ``out``, undo it."""
    out.mkdir()
    if not diff.strip():
        return
    try:
        git("apply", "--whitespace=nowarn", "-", cwd=repo, stdin=diff)
    except PrepareError as exc:
        raise PrepareError(f"{where}: does not apply to base_commit: {exc}") from None
    try:
        for rel in touched_files(diff):
            if (repo / rel).is_file():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(repo / rel, out / rel)
    finally:
        git("checkout", "-q", "--", ".", cwd=repo)
        git("clean", "-q", "-ffdx", cwd=repo)


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

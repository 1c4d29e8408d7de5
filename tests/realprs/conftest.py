"""The shipped real-prs instances, prepared once per machine (``setup --tasks real-prs``: PyPI is
needed the first time, never after) in the default install root, where runs find them; and
``small``: a small real git repository built here as a user's clone (base, fix, later history)
with its SWE-bench instance, prepared in the test's own store."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

# In-process pytester runs drop modules first imported inside them (see tests/core/conftest.py).
import numpy  # noqa: F401
import pytest

import pytest_arena.analysis.analyze  # noqa: F401
import pytest_arena.cell.runner  # noqa: F401
from pytest_arena.paths import default_install_root
from pytest_arena.sweep.session import SHIPPED_TASKS
from pytest_arena.tasks.realprs.prepare import real_prs_root
from pytest_arena.tasks.realprs.setup import prepare_shipped

try:  # the optional official package: its `datasets` registers pyarrow types once per process, so
    import swebench.harness.utils  # noqa: F401  a second import after pytester's drop would fail
except ImportError:
    pass


@pytest.fixture(scope="session")
def install_root():
    root = default_install_root().expanduser().resolve()
    prepare_shipped(SHIPPED_TASKS, root, lambda line: None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARENA_AGENTS_DIR", str(root))  # pytester gives its runs their own HOME
        yield root


@pytest.fixture(scope="session")
def store(install_root):
    return real_prs_root(install_root)


# --- a small real instance: a git repository with a bug, its fix and later history ------------

BUG = "def add(a, b):\n    return a - b\n"
FIX = "def add(a, b):\n    return a + b  # fixed: the reference solution\n"
OLD_TEST = "from calc.ops import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n"
NEW_TEST = OLD_TEST + "\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def _git(repo: Path, *args: str, stdin: str | None = None) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x"}
    run = subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    return run.stdout


@dataclass
class Small:
    """A user's SWE-bench instance (one JSONL line) with its clone under ``repos``: the clone
    holds base_commit, the fix commit and a later one, as a real clone does."""

    task: object  # RealPrTask
    clone: Path
    jsonl: Path
    base_commit: str
    fix_blob: str  # id of calc/ops.py as the fix has it: must never be in a cell's repository
    test_blob: str  # id of tests/test_ops.py after test_patch

    @property
    def prepared(self) -> Path:
        return self.task.ensure_prepared() / "repo"

    def git(self, repo: Path, *args: str, stdin: str | None = None) -> str:
        return _git(repo, *args, stdin=stdin)


def make_small(base: Path, number: int = 1) -> Small:
    from pytest_arena.tasks.realprs.task import jsonl_tasks

    repos, clone = base / "repos", base / "repos" / "acme__calc"
    (clone / "calc").mkdir(parents=True)
    (clone / "tests").mkdir()
    (clone / "calc" / "__init__.py").write_text("")
    (clone / "calc" / "ops.py").write_text(BUG)
    (clone / "tests" / "test_ops.py").write_text(OLD_TEST)
    (clone / ".gitignore").write_text("build/\n*.egg-info/\n__pycache__/\n")
    _git(clone, "init", "-q", "-b", "main")
    _git(clone, "add", "-A")
    _git(clone, "commit", "-q", "-m", "base")
    base_commit = _git(clone, "rev-parse", "HEAD").strip()
    (clone / "calc" / "ops.py").write_text(FIX)
    (clone / "tests" / "test_ops.py").write_text(NEW_TEST)
    patch = _git(clone, "diff", "--", "calc/ops.py")
    test_patch = _git(clone, "diff", "--", "tests/test_ops.py")
    _git(clone, "commit", "-q", "-am", "the fix")
    (clone / "NEWS").write_text("later work\n")
    _git(clone, "add", "NEWS")
    _git(clone, "commit", "-q", "-m", "later")
    fix_blob = _git(clone, "rev-parse", "HEAD:calc/ops.py").strip()
    test_blob = _git(clone, "rev-parse", "HEAD:tests/test_ops.py").strip()
    instance = {"instance_id": f"acme__calc-{number}", "repo": "acme/calc", "base_commit": base_commit,
                "problem_statement": "add() subtracts.", "patch": patch, "test_patch": test_patch,
                "FAIL_TO_PASS": ["tests/test_ops.py::test_add"], "PASS_TO_PASS": ["tests/test_ops.py::test_zero"],
                "version": "1.0", "environment_setup_commit": base_commit}
    jsonl = base / "instances.jsonl"
    jsonl.write_text(json.dumps(instance) + "\n")
    [task] = jsonl_tasks(jsonl, repos, base / "store", timeout_s=60, scoring_timeout_s=60)
    return Small(task=task, clone=clone, jsonl=jsonl, base_commit=base_commit, fix_blob=fix_blob, test_blob=test_blob)


@pytest.fixture
def small(tmp_path) -> Small:
    return make_small(tmp_path)


def tree_state(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (symlinks not followed): kind, size, content digest, mtime."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else None
            state[path.relative_to(root).as_posix()] = (stat.S_IFMT(info.st_mode), info.st_size, digest,
                                                        info.st_mtime_ns if not stat.S_ISDIR(info.st_mode) else 0)
    return state


def realprs_config(path: Path, *, seeds=(42,), agents=("oracle", "null"), bench: str = "", extra: str = "") -> Path:
    """A real-prs arena config at ``path``: the shipped instances, the offline stand-ins."""
    path.write_text(textwrap.dedent(f"""\
        variant_tag: realprs
        out_dir: results/realprs
        models: {{cloud: scripted, local: embedded/smollm2-135m}}
        benchmark:
          task_classes: [real-prs]
          agents: [{', '.join(agents)}]
          {'expect: {null: fail}' if 'null' in agents else ''}
          seeds: [{', '.join(map(str, seeds))}]
        """) + bench + textwrap.dedent("""\
        analysis: {resamples: 200, charts: false}
        """) + textwrap.dedent(extra))
    return path

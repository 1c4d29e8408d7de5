"""What real-prs cells must not share (issue 21): the reference fix or another cell's change in a
cell's repository, anything a cell does in the prepared repository, the environment build's
leftovers in it; and what an agent leaves in its workspace's git must not fail the prediction
diff (or point git elsewhere); instance ids that could name another folder are refused.

The small instances (``make_small`` in conftest) are real git repositories built here, a user's
clone with the fix and later history in it; the harness tests run the shipped pyflakes instance
with the probe agents of ``probes/isolation_agents.py``."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from pytest_arena.errors import ArenaError, TaskError
from pytest_arena.sweep.session import SHIPPED_TASKS
from pytest_arena.tasks.realprs import env as env_module
from pytest_arena.tasks.realprs.instance import read_jsonl
from pytest_arena.tasks.realprs.prepare import instance_dir
from pytest_arena.tasks.realprs.recipe import read_recipe

from .conftest import FIX, realprs_config, tree_state

PROBES = Path(__file__).resolve().parent / "probes" / "isolation_agents.py"
PYFLAKES = "PyCQA__pyflakes-3.0.1"


def _objects(repo: Path) -> set[str]:
    out = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], cwd=repo,
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _reachable(repo: Path, commit: str) -> set[str]:
    out = subprocess.run(["git", "rev-list", "--objects", commit], cwd=repo, capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[0] for line in out.splitlines()}


def _unreachable(repo: Path) -> list[str]:
    out = subprocess.run(["git", "fsck", "--unreachable", "--no-reflogs", "--no-progress"], cwd=repo,
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def _prediction(cell_dir: Path) -> dict:
    [line] = (cell_dir / "prediction.jsonl").read_text().splitlines()
    return json.loads(line)


def _applied(prepared: Path, patch: str, dest: Path) -> Path:
    """base_commit with ``patch`` applied (as SWE-bench's evaluation applies a prediction)."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(prepared), str(dest)], check=True)
    run = subprocess.run(["git", "apply", "-"], cwd=dest, input=patch.encode("utf-8", "surrogateescape"),
                         capture_output=True)
    assert run.returncode == 0, run.stderr.decode()
    return dest


# --- each cell's repository: base_commit's objects, nothing else ------------------------------

def test_a_cells_repository_holds_only_what_base_commit_reaches(small, tmp_path):
    """The user's clone has the fix commit and later history: neither reaches a workspace or the
    prepared repository, and no object is unreachable there."""
    workspace = tmp_path / "ws"
    small.task.materialise(("workspace",), workspace)
    for repo in (workspace, small.prepared):
        assert _objects(repo) == _reachable(repo, small.base_commit), repo
        assert small.fix_blob not in _objects(repo) and small.test_blob not in _objects(repo)
        assert _unreachable(repo) == []
    assert not (workspace / ".git" / "objects" / "info" / "alternates").exists()  # its own object store


def test_a_cells_prediction_never_reaches_the_next_cell(small, tmp_path):
    """Cell 1 writes the fix and its prediction is made; cell 2's repository does not hold it."""
    first, second = tmp_path / "first", tmp_path / "second"
    small.task.materialise(("workspace",), first)
    (first / "calc" / "ops.py").write_text(FIX)
    (tmp_path / "cell1").mkdir()
    small.task.record_solution(first, tmp_path / "cell1", "oracle")
    assert "a + b" in _prediction(tmp_path / "cell1")["model_patch"]
    small.task.materialise(("workspace",), second)
    for repo in (second, small.prepared):
        assert small.fix_blob not in _objects(repo)
        assert _objects(repo) == _reachable(repo, small.base_commit)
        assert _unreachable(repo) == []


def test_the_prepared_repository_is_unchanged_by_what_an_agent_leaves(small, tmp_path):
    """100 MB in two files, 200 new files, a nested repository with a commit: the prediction
    holds them (the big ones as git binary patches), the prepared repository is byte for byte
    as it was (no object written, none touched)."""
    workspace = tmp_path / "ws"
    small.task.materialise(("workspace",), workspace)
    before = tree_state(small.prepared)
    (workspace / "calc" / "ops.py").write_text(FIX)
    for n in (1, 2):
        with open(workspace / f"big{n}.bin", "wb") as out:
            out.write(os.urandom(64))
            for _ in range(50):
                out.write(bytes(1 << 20))
    for n in range(200):
        (workspace / "many" / f"d{n % 10}").mkdir(parents=True, exist_ok=True)
        (workspace / "many" / f"d{n % 10}" / f"f{n}.txt").write_text(f"file {n}\n")
    (workspace / "inner").mkdir()
    (workspace / "inner" / "inner.py").write_text("INNER = 1\n")
    small.git(workspace / "inner", "init", "-q")
    small.git(workspace / "inner", "add", "-A")
    small.git(workspace / "inner", "commit", "-q", "-m", "inner")
    small.task.record_solution(workspace, tmp_path, "agent")
    assert tree_state(small.prepared) == before
    patch = _prediction(tmp_path)["model_patch"]
    assert "GIT binary patch" in patch and "b/many/d9/f199.txt" in patch and "+INNER = 1" in patch
    applied = _applied(small.prepared, patch, tmp_path / "applied")
    assert (applied / "big2.bin").read_bytes() == (workspace / "big2.bin").read_bytes()
    assert (applied / "calc" / "ops.py").read_text() == FIX


# --- what an agent leaves in git cannot fail the prediction or point it elsewhere ---------------

def _nested_empty(ws: Path, small) -> None:
    (ws / "sub").mkdir()
    small.git(ws / "sub", "init", "-q")
    (ws / "sub" / "kept.txt").write_text("kept\n")


def _nested_committed(ws: Path, small) -> None:
    _nested_empty(ws, small)
    small.git(ws / "sub", "add", "-A")
    small.git(ws / "sub", "commit", "-q", "-m", "inner")


def _git_file(ws: Path, small) -> None:
    (ws / "sub").mkdir()
    (ws / "sub" / ".git").write_text(f"gitdir: {small.prepared / '.git'}\n")
    (ws / "sub" / "kept.txt").write_text("kept\n")


def _gitmodules_and_repo(ws: Path, small) -> None:
    (ws / ".gitmodules").write_text('[submodule "sub"\n\tnot git config\n')
    _nested_committed(ws, small)


def _fifo_gitignore(ws: Path, small) -> None:
    (ws / "sub").mkdir()
    os.mkfifo(ws / "sub" / ".gitignore")
    (ws / "sub" / "kept.txt").write_text("kept\n")


HOSTILE = {
    "git init in a subfolder, no commit": (_nested_empty, ["sub/.git"]),
    "a nested repository with a commit": (_nested_committed, ["sub/.git"]),
    "a .git file pointing at the prepared repository": (_git_file, ["sub/.git"]),
    ".gitattributes with an unknown encoding": (
        lambda ws, small: (ws / ".gitattributes").write_text("* working-tree-encoding=NO-SUCH\n"), []),
    ".gitattributes making .py files binary": (
        lambda ws, small: (ws / ".gitattributes").write_text("*.py -diff\n"), []),
    ".gitmodules that is not git config, with a nested repository": (_gitmodules_and_repo, ["sub/.git"]),
    "a symlink named .gitmodules": (lambda ws, small: os.symlink("calc/ops.py", ws / ".gitmodules"), [".gitmodules"]),
    "a folder named .GIT": (lambda ws, small: ((ws / "sub" / ".GIT").mkdir(parents=True),
                                                (ws / "sub" / ".GIT" / "x").write_text("x")), ["sub/.GIT"]),
    "a FIFO named .gitignore": (_fifo_gitignore, ["sub/.gitignore"]),
}


@pytest.mark.timeout(120)  # the old diff blocked for ever on the FIFO
@pytest.mark.parametrize("case", list(HOSTILE))
def test_what_an_agent_leaves_in_git_is_in_the_patch_as_files_or_named(small, tmp_path, case):
    """The prediction is made (no TaskError, so the cell is scored, not an infra_error): it holds
    the agent's fix and its plain files, never a gitlink or a nested repository's data, and
    applies to base_commit; what it leaves out is named in prediction-notes.txt."""
    make, left_out = HOSTILE[case]
    workspace = tmp_path / "ws"
    small.task.materialise(("workspace",), workspace)
    before = tree_state(small.prepared)
    (workspace / "calc" / "ops.py").write_text(FIX)
    make(workspace, small)
    small.task.record_solution(workspace, tmp_path, "agent")
    patch = _prediction(tmp_path)["model_patch"]
    assert "+    return a + b  # fixed" in patch, patch
    assert "Subproject commit" not in patch and "/.git/" not in patch and "Binary files" not in patch
    if (workspace / "sub" / "kept.txt").exists():
        assert "+++ b/sub/kept.txt" in patch
    notes = (tmp_path / "prediction-notes.txt").read_text() if left_out else ""
    for rel in left_out:
        assert f"{rel}:" in notes
    applied = _applied(small.prepared, patch, tmp_path / "applied")
    assert (applied / "calc" / "ops.py").read_text() == FIX
    assert tree_state(small.prepared) == before


# --- the prepared repository is checked before each cell --------------------------------------

def _untracked(prepared: Path, small) -> None:
    (prepared / "stray.py").write_text("x = 1\n")


def _env_leftovers(prepared: Path, small) -> None:  # what pip's in-tree build leaves (both ignored)
    (prepared / "build" / "lib" / "calc").mkdir(parents=True)
    (prepared / "build" / "lib" / "calc" / "ops.py").write_text("")
    (prepared / "calc.egg-info").mkdir()
    (prepared / "calc.egg-info" / "PKG-INFO").write_text("Name: calc\n")


def _extra_object(prepared: Path, small) -> None:
    small.git(prepared, "hash-object", "-w", "--stdin", stdin="the fix, left by a cell\n")


def _moved_head(prepared: Path, small) -> None:
    (prepared / "calc" / "ops.py").write_text(FIX)
    small.git(prepared, "commit", "-q", "-am", "a cell's commit")


@pytest.mark.parametrize("change", [_untracked, _env_leftovers, _extra_object, _moved_head],
                         ids=["untracked file", "build and egg-info", "an object", "a commit"])
def test_a_changed_prepared_repository_is_refused(small, tmp_path, change):
    small.task.materialise(("workspace",), tmp_path / "first")
    change(small.prepared, small)
    with pytest.raises(TaskError) as caught:
        small.task.materialise(("workspace",), tmp_path / "second")
    message = str(caught.value)
    assert "\n" not in message and str(small.prepared) in message and "changed since it was prepared" in message


def test_the_environment_is_built_from_a_copy_of_the_repository(small, tmp_path, monkeypatch):
    """pip builds a local project in its tree (build/, *.egg-info): never in the prepared one."""
    seen = []
    real_run = subprocess.run

    def fake_pip(cmd, **kwargs):
        if "pip" not in cmd:
            return real_run(cmd, **kwargs)
        project = Path(cmd[cmd.index("--target") + 2])
        seen.append(project)
        (project / "build" / "lib").mkdir(parents=True)
        (project / "build" / "lib" / "ops.py").write_text("")
        (project / "calc.egg-info").mkdir()
        (project / "calc.egg-info" / "PKG-INFO").write_text("Name: calc\n")
        Path(cmd[cmd.index("--target") + 1], "calc").mkdir()
        return subprocess.CompletedProcess(cmd, 0, "", "")

    small.task.ensure_prepared()
    before = tree_state(small.prepared)
    monkeypatch.setattr(env_module.subprocess, "run", fake_pip)
    recipe = small.task.env_recipe
    assert Path(recipe.project) == small.prepared
    env_module._build(recipe, tmp_path / "envs" / recipe.key)
    assert seen and seen[0] != small.prepared and not seen[0].exists()  # a copy, removed after
    assert tree_state(small.prepared) == before
    assert (tmp_path / "envs" / recipe.key / "calc").is_dir()


# --- instance ids -------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["../escape-1", "acme/calc__x-1", "django__django", "acme__calc-x", "-x__calc-1",
                                 ".hidden__calc-1", "acme__calc-1\nacme__calc-2", "acme__calc-1 ", "",
                                 "a" * 130 + "__b-1"])
def test_a_bad_instance_id_is_refused_in_one_line(small, bad):
    raw = json.loads(small.jsonl.read_text())
    small.jsonl.write_text(json.dumps({**raw, "instance_id": bad}) + "\n")
    with pytest.raises(ArenaError) as caught:
        read_jsonl(small.jsonl)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{small.jsonl}:1: ") and "field 'instance_id'" in message and "owner" in message


@pytest.mark.parametrize("good", ["django__django-11099", "scikit-learn__scikit-learn-10297", "pallets__click-8.1.3",
                                  "python-humanize__humanize-4.10.0-metric", "sphinx-doc__sphinx-7.2"])
def test_swebench_and_shipped_instance_ids_are_accepted(small, good):
    raw = json.loads(small.jsonl.read_text())
    small.jsonl.write_text(json.dumps({**raw, "instance_id": good}) + "\n")
    assert [i.instance_id for i in read_jsonl(small.jsonl)] == [good]


def test_a_recipe_with_a_bad_instance_id_is_refused_in_one_line(tmp_path):
    source = SHIPPED_TASKS / "real-prs" / f"{PYFLAKES}.yaml"
    bad = tmp_path / "PyCQA__pyflakes.yaml"
    bad.write_text(source.read_text().replace(f"instance_id: {PYFLAKES}", "instance_id: PyCQA__pyflakes"))
    with pytest.raises(TaskError) as caught:
        read_recipe(bad)
    assert str(caught.value).startswith(f"{bad}: field 'instance_id'") and "\n" not in str(caught.value)


# --- through the harness: the shipped pyflakes instance -----------------------------------------

def _run(pytester, agent: str) -> tuple[dict, Path]:
    """One cell of the pyflakes instance with ``agent``: its row and its cell folder."""
    shutil.rmtree(pytester.path / "results", ignore_errors=True)
    realprs_config(pytester.path / "arena.yaml", agents=(agent,), seeds=(1,))
    pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider", "-k", "pyflakes")
    [line] = (pytester.path / "results/realprs/raw.jsonl").read_text().splitlines()
    row = json.loads(line)
    assert row["outcome"] != "infra_error", row["error"]
    [cell] = (pytester.path / "results/realprs/cells").glob(f"real-prs__{PYFLAKES}_{agent}-*")
    return row, cell


def test_after_an_oracle_cell_an_agent_finds_no_reference_fix_in_its_repository(pytester, install_root, store):
    pytester.makeconftest(PROBES.read_text())
    prepared = instance_dir(store, PYFLAKES) / "repo"
    oracle, _ = _run(pytester, "oracle")
    assert oracle["outcome"] == "pass"
    probe, cell = _run(pytester, "probe-objects")
    found = json.loads((cell / "logs" / "probe.json").read_text())
    search, control = found["search"], found["control"]
    assert search["objects"] > 10 and found["fix_lines_known"] > 0
    assert (search["reference_blobs"], search["reference_contents"], search["fix_lines"], search["unreachable"],
            search["loose_hits"]) == ([], [], [], [], []), search
    # The control: the same search finds the fix once the probe planted it itself.
    assert control["reference_blobs"] and control["reference_contents"] and control["fix_lines"]
    assert control["unreachable"] and control["loose_hits"]
    # And the shared store holds no more than base_commit reaches.
    base = json.loads((prepared.parent / "instance.json").read_text())["base_commit"]
    assert _objects(prepared) == _reachable(prepared, base) and _unreachable(prepared) == []


def test_a_hostile_workspace_is_scored_and_leaves_the_prepared_repository_as_it_was(pytester, install_root, store):
    """The cell is scored (pass: the fix is there), never an infra_error; its prediction holds the
    fix and the plain files, applies to base_commit; the prepared repository did not change."""
    pytester.makeconftest(PROBES.read_text())
    prepared = instance_dir(store, PYFLAKES) / "repo"
    before = tree_state(prepared)
    row, cell = _run(pytester, "probe-hostile")
    assert row["outcome"] == "pass", row["error"]
    assert tree_state(prepared) == before
    patch = _prediction(cell)["model_patch"]
    for rel in ("nested/mod.py", "elsewhere/note.py", "empty_repo/notes.txt"):
        assert f"+++ b/{rel}" in patch
    assert "Subproject commit" not in patch and "Binary files" not in patch
    notes = (cell / "prediction-notes.txt").read_text()
    for rel in ("empty_repo/.git", "nested/.git", "elsewhere/.git", "deep/.gitmodules", "shout/.GIT"):
        assert f"{rel}:" in notes
    applied = _applied(prepared, patch, pytester.path / "applied")
    reference = prepared.parent / "reference"
    for path in reference.rglob("*"):
        if path.is_file():
            assert (applied / path.relative_to(reference)).read_bytes() == path.read_bytes()


def test_a_workspace_git_cannot_diff_fails_its_cell_never_an_infra_error(pytester, install_root, store):
    """When the prediction diff cannot be made at all (here git is made to fail), that is the
    agent's workspace's doing: the cell is a measured fail naming why, not an infra_error."""
    pytester.makeconftest(PROBES.read_text() + textwrap.dedent("""

        import pytest_arena.tasks.realprs.task as _task
        from pytest_arena.tasks.realprs.patch import PatchError as _PatchError


        def _no_diff(*args, **kwargs):
            raise _PatchError("git diff: fatal: planted failure")


        _task.model_patch = _no_diff
        """))
    row, cell = _run(pytester, "oracle")  # the oracle's files would pass: only the diff fails
    assert row["outcome"] == "fail"
    assert "the agent's solution could not be recorded" in row["error"] and "planted failure" in row["error"]
    assert "planted failure" in (cell / "prediction-notes.txt").read_text()

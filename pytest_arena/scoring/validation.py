"""Collection-time check that each selected task's reference solution passes its own acceptance
tests, through the same scorer the cells use. Cached by the task folder's content hash, so a task
is checked once per change, not once per run. ``harness_check`` is the oracle/null pair of
configs/validate-tasks.yaml for one task without a sweep (the task importers run it)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pytest_arena.errors import ScoringUnavailable, TaskError
from pytest_arena.sandbox.run import Limits
from pytest_arena.scoring import env as scoring_env
from pytest_arena.scoring.records import ScoreResult
from pytest_arena.scoring.score import score
from pytest_arena.tasks.base import Part, Task


def task_digest(task: Task) -> str:
    """What the reference check's cache and a cell's measured settings know the task by."""
    return task.content_digest


def score_parts(task: Task, parts: tuple[Part, ...], install_root: Path | None = None,
                kind: str | None = None) -> ScoreResult:
    """Score a workspace made of the task's ``parts`` as a cell's would be: ``("workspace",
    "reference")`` is what the oracle agent leaves, ``("workspace",)`` what the null agent leaves.
    ``ScoringUnavailable`` when this machine cannot score the task; ``TaskError`` when its tests
    cannot be collected against its reference."""
    scratch = Path(tempfile.mkdtemp(prefix="arena-refcheck-"))
    try:
        workspace = scratch / "workspace"
        task.materialise(parts, workspace)
        return score(task, workspace, scratch / "scoring", limits=Limits(wall_s=task.spec.scoring_timeout_s),
                     env=task.scoring_env(scoring_env.prepare(scoring_env.env_root(install_root))), kind=kind)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def harness_check(task: Task, install_root: Path | None = None) -> str | None:
    """What ``configs/validate-tasks.yaml`` checks of a task, without a sweep: None when the
    reference passes its tests (the oracle agent) and the workspace as given does not (the null
    agent), otherwise what is wrong, in one line. ``ScoringUnavailable`` when this machine cannot
    score the task."""
    try:
        oracle = score_parts(task, ("workspace", "reference"), install_root)
        if oracle.status != "pass":
            return f"the reference solution does not pass its tests ({oracle.status}: {oracle.reason})"
        null = score_parts(task, ("workspace",), install_root)
    except TaskError as exc:
        return str(exc)
    if null.status == "pass":
        return f"the workspace as given (the stub) passes its tests ({null.reason}): the null agent would pass"
    if null.status != "fail":
        return f"the workspace as given could not be scored ({null.status}: {null.reason})"
    return None


def check_reference(task: Task, install_root: Path | None = None, kind: str | None = None) -> None:
    result = score_parts(task, ("workspace", "reference"), install_root, kind)
    if result.status != "pass":
        raise TaskError(
            f"task {task.id} ({task.root}): the reference solution fails its own acceptance tests "
            f"({result.tests_passed}/{result.tests_total} passed; {result.reason}). Fix reference/ or tests/.")


def validate_references(session, cache) -> None:
    """Each task's reference passes its tests, checked in the scoring kind the config chose
    (``sandbox.scoring``) before the first cell; a kind that cannot run here is left to the cells,
    which each say why."""
    from pytest_arena.sandbox.kinds import SandboxUnavailable, UnknownSandboxKind, resolve_sandbox_kind

    try:
        kind: str | None = resolve_sandbox_kind(session.config.sandbox.scoring, "scoring").name
    except (SandboxUnavailable, UnknownSandboxKind):
        return
    for task_id in dict.fromkeys(cell.task_id for cell in session.cells):
        task = session.registry.get(task_id)
        if not task.check_reference_at_start:
            continue
        key = f"arena/reference-ok/{task_digest(task)}"
        if cache is not None and cache.get(key, False):
            continue
        try:
            check_reference(task, session.install_root, kind)
        except ScoringUnavailable:
            continue  # this machine cannot score the task: each of its cells says so (infra_error)
        if cache is not None:
            cache.set(key, True)

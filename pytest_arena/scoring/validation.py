"""Collection-time check that each selected task's reference solution passes its own acceptance
tests, through the same scorer the cells use. Cached by the task folder's content hash, so a task
is checked once per change, not once per run."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pytest_arena.errors import ScoringUnavailable, TaskError
from pytest_arena.sandbox.run import Limits
from pytest_arena.scoring import env as scoring_env
from pytest_arena.scoring.score import score
from pytest_arena.tasks.base import Task


def task_digest(task: Task) -> str:
    """What the reference check's cache and a cell's measured settings know the task by."""
    return task.content_digest


def check_reference(task: Task, install_root: Path | None = None) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="arena-refcheck-"))
    try:
        workspace = scratch / "workspace"
        task.materialise(("workspace", "reference"), workspace)
        result = score(task, workspace, scratch / "scoring", limits=Limits(wall_s=task.spec.scoring_timeout_s),
                       env=task.scoring_env(scoring_env.prepare(scoring_env.env_root(install_root))))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.status != "pass":
        raise TaskError(
            f"task {task.id} ({task.root}): the reference solution fails its own acceptance tests "
            f"({result.tests_passed}/{result.tests_total} passed; {result.reason}). Fix reference/ or tests/.")


def validate_references(session, cache) -> None:
    for task_id in dict.fromkeys(cell.task_id for cell in session.cells):
        task = session.registry.get(task_id)
        if not task.check_reference_at_start:
            continue
        key = f"arena/reference-ok/{task_digest(task)}"
        if cache is not None and cache.get(key, False):
            continue
        try:
            check_reference(task, session.install_root)
        except ScoringUnavailable:
            continue  # this machine cannot score the task: each of its cells says so (infra_error)
        if cache is not None:
            cache.set(key, True)

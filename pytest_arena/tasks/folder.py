"""Task folders: format, loading and validation.

    tasks/<class>/<slug>/
      task.yaml    id, class, shape, title, timeout_s, tests_visible, source, license,
                   prompt (inline) or prompt_file (default prompt.md), stresses,
                   runner (default pytest: go, rust, javascript, cpp, java, ...)
      workspace/   what the agent starts with
      tests/       acceptance tests (run by the task's runner), overlaid on the workspace root
      reference/   the reference solution, overlaid on the workspace root by the oracle agent

workspace/, tests/ and reference/ all map onto the same root: a file ``tests/test_x.py`` lands at
``<workspace>/test_x.py``, a file ``reference/graph.py`` replaces ``<workspace>/graph.py``.
``class`` names a task-folder class of the registry (``puzzles``, ``refactors``, or one a project
adds with ``folder_task_class``, see pytest_arena/tasks/classes.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from pytest_arena.errors import TaskError
from pytest_arena.tasks.base import DEFAULT_TEST_RUNNER, Part, TaskRegistry
from pytest_arena.tasks.base import Task as BaseTask
from pytest_arena.yamlfile import read_model

if TYPE_CHECKING:
    from pytest_arena.scoring.records import ScoringEnv

SHAPES = ("puzzle", "D1", "D5", "D6")
# Files never copied anywhere (editor and interpreter debris).
_IGNORED = {"__pycache__", ".pytest_cache", ".DS_Store", ".gitkeep"}


class TaskSpec(BaseModel):
    """The task.yaml format."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$", description="e.g. real-dev/d6-toposort")
    task_class: str = Field(alias="class", description="a registered task-folder class: puzzles, refactors, ...")
    shape: Literal["puzzle", "D1", "D5", "D6"]
    title: str
    timeout_s: int = Field(gt=0, description="agent wall-time limit for one cell")
    scoring_timeout_s: int = Field(default=60, gt=0, description="acceptance-test wall-time limit")
    tests_visible: bool = Field(description="the agent's workspace holds the acceptance tests")
    source: str
    license: str
    stresses: str = Field(description="one line: what this task stresses (the task table, docs/reference/tasks.md)")
    prompt: str | None = None
    prompt_file: str | None = None
    runner: str = Field(default=DEFAULT_TEST_RUNNER, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                        description="the test runner of tests/: pytest, go, rust, javascript, cpp, java "
                                    "(docs/howto/task-test-runners.md)")

    @model_serializer(mode="wrap")
    def _default_runner_unsaid(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A pytest task's fields dump as they did before ``runner`` existed: its cells' measured
        settings (and so resume) are unchanged."""
        data: dict[str, Any] = handler(self)
        if data.get("runner") == DEFAULT_TEST_RUNNER:
            del data["runner"]
        return data


@dataclass(frozen=True)
class Task:
    """A task folder as a task (``pytest_arena.tasks.base.Task``): every test of its acceptance
    test modules counts, and the harness's clean pytest runs them."""

    spec: TaskSpec
    root: Path

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def task_class(self) -> str:
        return self.spec.task_class

    @property
    def shape(self) -> str:
        return self.spec.shape

    @property
    def test_runner(self) -> str:
        """The runner of its acceptance tests (task.yaml ``runner``; pytest_arena.tasks.base.runner_name_of)."""
        return self.spec.runner

    @cached_property
    def prompt(self) -> str:
        if self.spec.prompt is not None:
            return self.spec.prompt.strip()
        return (self.root / (self.spec.prompt_file or "prompt.md")).read_text("utf-8").strip()

    def files(self, part: Part) -> dict[str, bytes]:
        """Relative path -> content of every file under one part of the task."""
        base = self.root / part
        out: dict[str, bytes] = {}
        if not base.is_dir():
            return out
        for path in sorted(base.rglob("*")):
            if path.is_file() and not (set(path.relative_to(base).parts) & _IGNORED):
                out[path.relative_to(base).as_posix()] = path.read_bytes()
        return out

    def materialise(self, parts: tuple[Part, ...], dest: Path) -> None:
        """Write the given parts, in order, onto one root (later parts overwrite earlier ones)."""
        dest.mkdir(parents=True, exist_ok=True)
        for part in parts:
            for rel, content in self.files(part).items():
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)

    @cached_property
    def test_files(self) -> tuple[str, ...]:
        return tuple(self.files("tests"))

    @property
    def test_ids(self) -> tuple[str, ...]:
        """None named: every test of the acceptance test modules counts."""
        return ()

    @property
    def reports_resolved(self) -> bool:
        return False

    @property
    def check_reference_at_start(self) -> bool:
        return True

    @cached_property
    def content_digest(self) -> str:
        """Every file of the three parts, and the prompt."""
        h = hashlib.sha256()
        for part in ("workspace", "tests", "reference"):
            for rel, content in self.files(part).items():
                h.update(f"{part}/{rel}\0".encode())
                h.update(hashlib.sha256(content).digest())
        h.update(self.prompt.encode())
        return h.hexdigest()[:24]

    def scoring_env(self, base: ScoringEnv) -> ScoringEnv:
        """The harness's clean pytest, as it is."""
        return base

    def record_solution(self, workspace: Path, cell_dir: Path, model: str) -> None:
        """Nothing to add to the cell folder (a real-prs task writes its SWE-bench prediction)."""


def load_task(folder: Path) -> Task:
    """Load and validate one task folder; every problem raises TaskError naming the task."""
    spec_path = folder / "task.yaml"
    where = f"task folder {folder}"
    if not spec_path.is_file():
        raise TaskError(f"{where}: task.yaml is missing. Add one (see docs/howto/add-a-task.md).")
    spec = read_model(spec_path, TaskSpec, TaskError, fields="id, class, shape")
    task = Task(spec=spec, root=folder)
    if spec.prompt is None:
        prompt_path = folder / (spec.prompt_file or "prompt.md")
        if not prompt_path.is_file():
            raise TaskError(
                f"{spec_path}: task {spec.id} has no prompt: set 'prompt' or add {prompt_path.name}."
            )
    elif spec.prompt_file is not None:
        raise TaskError(f"{spec_path}: set either 'prompt' or 'prompt_file', not both.")
    from pytest_arena.scoring.runners import check_test_runner  # the runners' registry, read at load time

    try:
        check_test_runner(spec.runner)
    except ValueError as exc:
        raise TaskError(f"{spec_path}: field 'runner': {exc}.") from None
    for part in ("workspace", "tests", "reference"):
        if not (folder / part).is_dir():
            raise TaskError(f"task {spec.id} ({folder}): the folder {part}/ is missing.")
        files = task.files(part)
        if part != "workspace" and not files:
            raise TaskError(f"task {spec.id} ({folder}): {part}/ holds no files.")
        for rel, content in files.items():
            try:
                content.decode("utf-8")
            except UnicodeDecodeError:
                raise TaskError(
                    f"task {spec.id}: {part}/{rel} is not UTF-8 text. Tasks hold text files only."
                ) from None
    try:
        task.prompt.encode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - read_text already decoded
        raise TaskError(f"task {spec.id}: the prompt is not UTF-8 text.") from None
    return task


def discover_tasks(root: Path, classes: Callable[[str], object] | None = None) -> TaskRegistry:
    """Every task under ``root`` (folders holding a task.yaml), in sorted path order. ``classes``
    checks each one's class (ValueError saying why it is not a task-folder class)."""
    tasks: dict[str, BaseTask] = {}
    if not root.is_dir():
        raise TaskError(f"tasks folder {root} does not exist. Set benchmark.tasks_dir in the config.")
    for spec_path in sorted(root.glob("*/*/task.yaml")):
        task = load_task(spec_path.parent)
        if classes is not None:
            try:
                classes(task.task_class)
            except ValueError as exc:
                raise TaskError(f"{spec_path}: field 'class': {exc}.") from None
        if task.id in tasks:
            raise TaskError(
                f"task id {task.id} is declared twice: {tasks[task.id].root} and {task.root}."
            )
        tasks[task.id] = task
    return TaskRegistry(tasks)

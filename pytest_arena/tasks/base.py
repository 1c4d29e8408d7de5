"""What the harness asks of a task, and of a task class.

Cells, the runner, the scorer, the oracle and null agents, the session and the task table treat
every task alike, through ``Task``. A task class (the task folders' ``puzzles`` and ``refactors``,
``real-prs``, or one registered from a conftest) supplies tasks that satisfy it and says how to
find them: a ``TaskClass`` record in the one registry, ``pytest_arena.tasks.classes``. Nothing
outside a task class asks which class a task is of to decide what to do with it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pytest_arena.errors import ScoringUnavailable  # part of the contract: re-exported

if TYPE_CHECKING:
    from pytest_arena.scoring.records import ScoringEnv

__all__ = [
    "DEFAULT_TEST_RUNNER", "Part", "ScoringUnavailable", "SetupStep", "Task", "TaskClass", "TaskRegistry",
    "TaskSettings", "TaskSource", "runner_name_of",
]

# The three parts of a task, all mapping onto one root: ``workspace`` (what the agent starts
# with), ``tests`` (the acceptance tests, restored before scoring) and ``reference`` (a solution:
# what the oracle agent writes, and what the start-of-session check scores).
Part = Literal["workspace", "tests", "reference"]


class TaskSettings(Protocol):
    """The task.yaml fields the harness reads. All of it (``model_dump``) is part of each cell's
    measured settings, so a changed field re-runs the task's cells on resume."""

    @property
    def title(self) -> str: ...
    @property
    def timeout_s(self) -> int: ...  # the agent's wall-time limit for one cell
    @property
    def scoring_timeout_s(self) -> int: ...  # the acceptance tests' wall-time limit
    @property
    def tests_visible(self) -> bool: ...  # the agent's workspace holds the acceptance tests
    @property
    def stresses(self) -> str: ...  # one line: what the task stresses (the task table, docs/reference/tasks.md)

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


class Task(Protocol):
    """One task, whatever its class."""

    @property
    def id(self) -> str: ...  # "<source>/<slug>": the pytest item's name and the rows' task_id
    @property
    def task_class(self) -> str: ...  # its TaskClass's name: the rows' category, a pytest -k word
    @property
    def shape(self) -> str: ...  # a pytest marker and the rows' shape
    @property
    def spec(self) -> TaskSettings: ...
    @property
    def root(self) -> Path: ...  # its own files: named in messages, hidden from the scoring sandbox
    @property
    def prompt(self) -> str: ...  # what the agent is told, unchanged

    def files(self, part: Part) -> dict[str, bytes]:
        """Relative path -> content of every file of one part."""
        ...

    def materialise(self, parts: tuple[Part, ...], dest: Path) -> None:
        """Write the given parts, in order, onto ``dest`` (later parts overwrite earlier ones)."""
        ...

    @property
    def test_files(self) -> tuple[str, ...]: ...  # the ``tests`` part's paths (restored, read-only)
    @property
    def test_ids(self) -> Sequence[str]:
        """The pytest node ids the verdict counts (their modules are what scoring runs); empty when
        every test of the acceptance test modules counts."""
        ...

    @property
    def reports_resolved(self) -> bool:
        """Whether rows fill ``quality.resolved`` (SWE-bench's word: every counted test passed)."""
        ...

    @property
    def content_digest(self) -> str:
        """A digest of everything the task is made of: a changed task re-runs its cells on resume
        and is checked again at session start."""
        ...

    @property
    def check_reference_at_start(self) -> bool:
        """Whether the session checks, before any cell, that the reference passes the tests."""
        ...

    def scoring_env(self, base: ScoringEnv) -> ScoringEnv:
        """The interpreter environment its tests run in, given the harness's clean pytest
        (``ScoringUnavailable`` when this machine cannot have it)."""
        ...

    def record_solution(self, workspace: Path, cell_dir: Path, model: str) -> None:
        """Write what the class keeps of the agent's solution into the cell folder, before
        scoring (``SolutionError`` when the workspace cannot be recorded: the agent's doing)."""
        ...


DEFAULT_TEST_RUNNER = "pytest"


def runner_name_of(task: Task) -> str:
    """The runner of a task's acceptance tests: its ``test_runner`` (a name registered in
    pytest_arena.scoring.runners: ``go``, ``rust``, ...) when it has one, else ``pytest``. Not a
    member of ``Task``: a task class that says nothing keeps running its tests with pytest."""
    name = getattr(task, "test_runner", DEFAULT_TEST_RUNNER)
    return name if isinstance(name, str) else DEFAULT_TEST_RUNNER


_Read = TypeVar("_Read")


@dataclass(frozen=True)
class TaskSource:
    """What a task class may read to find its tasks for one session."""

    tasks_dir: Path  # benchmark.tasks_dir, resolved
    config: Any  # the sweep's ArenaConfig (typed loosely: the sweep imports the tasks, not back)
    config_path: Path  # for paths relative to the config, and for messages
    install_root: Path  # this host's install root (agents, environments, prepared data)
    _shared: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def shared(self, key: str, read: Callable[[], _Read]) -> _Read:
        """``read()``, once per session for all classes asking under ``key`` (every task-folder
        class takes its tasks from one reading of the task folders)."""
        if key not in self._shared:
            self._shared[key] = read()
        value: _Read = self._shared[key]
        return value


# (tasks_root, install_root, log) -> anything: `python -m pytest_arena setup --tasks NAME`.
SetupStep = Callable[[Path, Path, Callable[[str], None]], object]


@dataclass(frozen=True)
class TaskClass:
    """A kind of task, registered by name (``pytest_arena.tasks.classes.register_task_class``)."""

    name: str  # what benchmark.task_classes lists and the rows' category holds
    discover: Callable[[TaskSource], Sequence[Task]]  # its tasks for one session, in a stable order
    # Its tasks are task folders (task.yaml says `class: <name>`), read at every session start:
    # listing them costs nothing, so a task id of the class in benchmark.task_ids is named as
    # such even when the config does not select the class.
    folder: bool = False
    setup: SetupStep | None = None  # prepares its data once (downloads, environments), if it needs that
    setup_help: str = ""  # what the setup step does, for `setup --help`, e.g. "downloads ... from PyPI"


@dataclass(frozen=True)
class TaskRegistry:
    """One session's tasks by id, in discovery order."""

    tasks: dict[str, Task]

    def get(self, task_id: str) -> Task:
        return self.tasks[task_id]

    def ids(self, task_class: str | None = None) -> list[str]:
        return [t for t, task in self.tasks.items() if task_class in (None, task.task_class)]

"""The task classes by name: the one registry the config, the session and ``setup`` read.

The built-ins are the task folders' ``puzzles`` and ``refactors`` and the SWE-bench-format
``real-prs``. A project adds its own with ``register_task_class`` from a conftest.py or from the
module of an installed pytest plugin (see docs/howto/add-a-task-class.md).
"""
from __future__ import annotations

import difflib
from pathlib import Path

from pytest_arena.errors import TaskError
from pytest_arena.tasks.base import Task, TaskClass, TaskRegistry, TaskSource
from pytest_arena.tasks.realprs.registry import REAL_PRS

__all__ = [
    "check_task_class", "folder_task_class", "get_task_class", "load_tasks", "read_task_folders", "register_task_class",
    "task_classes",
]

_classes: dict[str, TaskClass] = {}


def register_task_class(task_class: TaskClass) -> TaskClass:
    """Add (or replace) a class under its name; returns it, so a module can keep the record."""
    _classes[task_class.name] = task_class
    return task_class


def task_classes() -> list[TaskClass]:
    """Every registered class, the built-ins first."""
    return list(_classes.values())


def check_task_class(name: str, *, folder: bool = False) -> str:
    """``name`` when a class is registered under it (for ``folder``: a task-folder class);
    ValueError naming the known ones otherwise."""
    known = [c.name for c in _classes.values() if c.folder or not folder]
    if name in known:
        return name
    what, call = ("task-folder class", f"register_task_class(folder_task_class({name!r}))") if folder else (
        "task class", "register_task_class")
    hint = difflib.get_close_matches(name, known, n=1)
    raise ValueError(f"unknown {what} {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                     + f" (known: {', '.join(known)}; a conftest.py can add one with {call})")


def get_task_class(name: str) -> TaskClass:
    try:
        return _classes[check_task_class(name)]
    except ValueError as exc:
        raise TaskError(str(exc)) from None


def folder_task_class(name: str) -> TaskClass:
    """A class whose tasks are the task folders under benchmark.tasks_dir saying ``class: <name>``
    (pytest_arena/tasks/folder.py describes the folder)."""
    def discover(source: TaskSource) -> list[Task]:
        folders = source.shared("task folders", lambda: read_task_folders(source.tasks_dir))
        return [task for task in folders.tasks.values() if task.task_class == name]

    return TaskClass(name=name, discover=discover, folder=True)


def read_task_folders(tasks_dir: Path) -> TaskRegistry:
    """Every task folder under ``tasks_dir``; TaskError names one whose class is not a registered
    task-folder class."""
    from pytest_arena.tasks.folder import discover_tasks

    return discover_tasks(tasks_dir, lambda name: check_task_class(name, folder=True))


def load_tasks(selected: list[str], source: TaskSource) -> TaskRegistry:
    """The tasks of the selected classes, and those of every task-folder class (free to list: a
    task id of an unselected class then gets a message saying so). TaskError names a task id
    two classes both claim."""
    tasks: dict[str, Task] = {}
    for task_class in task_classes():
        if not (task_class.folder or task_class.name in selected):
            continue
        for task in task_class.discover(source):
            if task.id in tasks:
                raise TaskError(f"task id {task.id} is claimed twice: by {tasks[task.id].task_class} "
                                f"({tasks[task.id].root}) and by {task.task_class} ({task.root}); rename one.")
            tasks[task.id] = task
    return TaskRegistry(tasks)


register_task_class(folder_task_class("puzzles"))
register_task_class(folder_task_class("refactors"))
register_task_class(REAL_PRS)

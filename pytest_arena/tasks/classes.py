"""The task classes by name: the one registry the config, the session and ``setup`` read.

The built-ins are the task folders' ``puzzles`` and ``refactors`` and the SWE-bench-format
``real-prs``. A project adds its own with ``register_task_class`` from a conftest.py or from the
module of an installed pytest plugin (see docs/howto/add-a-task-class.md).
"""
from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence
from pathlib import Path

from pytest_arena.errors import TaskError
from pytest_arena.tasks.base import Task, TaskClass, TaskRegistry, TaskSource
from pytest_arena.tasks.realprs.registry import REAL_PRS

__all__ = [
    "check_task_class", "expand_task_ids", "folder_task_class", "get_task_class", "load_tasks", "read_task_folders",
    "register_task_class", "task_classes",
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


def is_task_glob(entry: str) -> bool:
    """Whether a benchmark.task_ids entry is a shell-style pattern (``*``, ``?``, ``[...]``)."""
    return any(char in entry for char in "*?[")


def expand_task_ids(entries: Sequence[str], registry: TaskRegistry, task_classes: Sequence[str]) -> list[str]:
    """benchmark.task_ids as task ids. A glob (fnmatch, case-sensitive: ``exercism-python/*``)
    stands for the ids it matches among the tasks of ``task_classes``, in discovery order; a plain
    id stays as it is (the caller checks it); an entry ``!ID`` or ``!GLOB`` drops what it matches
    (only drops: every task of ``task_classes`` but those); an id listed twice keeps its first
    place. ValueError, for the config's message, when a glob or a drop matches none of those tasks,
    or when a glob selects both a shipped task and the upstream exercise an import renamed beside it
    (``exercism-python/pig-latin`` and ``...-upstream``): the same exercise would count twice."""
    chosen = [task_id for task_id in registry.ids() if registry.get(task_id).task_class in task_classes]
    keep = [entry for entry in entries if not entry.startswith("!")]
    out: dict[str, None] = {} if keep else dict.fromkeys(chosen)
    from_glob: set[str] = set()
    for entry in keep:
        if not is_task_glob(entry):
            out.setdefault(entry)
            continue
        matched = [task_id for task_id in chosen if fnmatch.fnmatchcase(task_id, entry)]
        if not matched:
            raise ValueError(_no_match(entry, registry, task_classes))
        for task_id in matched:
            out.setdefault(task_id)
        from_glob.update(matched)
    for entry in entries:
        if entry.startswith("!"):
            dropped = [task_id for task_id in out if fnmatch.fnmatchcase(task_id, entry[1:])]
            if not dropped:
                raise ValueError(_no_match(entry[1:], registry, task_classes, drop=True))
            for task_id in dropped:
                del out[task_id]
    from pytest_arena.tasks.exercism import IMPORTER_MARK, UPSTREAM_SUFFIX

    for task_id in out:
        twin = task_id + UPSTREAM_SUFFIX
        if twin in out and {task_id, twin} & from_glob and str(
                getattr(registry.get(twin).spec, "source", "")).endswith(IMPORTER_MARK):
            raise ValueError(
                f"a pattern selects both {task_id} ({registry.get(task_id).root}) and {twin} "
                f"({registry.get(twin).root}), the upstream exercise an import gave a distinct id because "
                f"{task_id} was taken; one exercise would count twice. Add '!{twin}' or '!{task_id}' "
                f"to benchmark.task_ids (or list both ids explicitly to run both).")
    return list(out)


def _no_match(pattern: str, registry: TaskRegistry, task_classes: Sequence[str], *, drop: bool = False) -> str:
    elsewhere = [t for t in registry.ids() if fnmatch.fnmatchcase(t, pattern)]
    if elsewhere and not drop:
        classes = sorted({registry.get(t).task_class for t in elsewhere})
        return (f"the pattern {pattern!r} matches only tasks of {', '.join(classes)} ({len(elsewhere)}), "
                f"not of benchmark.task_classes {list(task_classes)}; add the class or change the pattern.")
    sources = sorted({t.split("/", 1)[0] for t in registry.ids()})
    head = pattern.split("/", 1)[0]
    hint = difflib.get_close_matches(head, sources, n=1)
    suggestion = f"; did you mean {hint[0] + pattern[len(head):]!r}?" if hint and hint[0] != head else ""
    what = (f"'!{pattern}' drops nothing: it matches no selected task" if drop
            else f"the pattern {pattern!r} matches no task")
    return (f"{what}{suggestion} (task id sources: {', '.join(sources) or 'none'}; "
            f"`python -m pytest_arena tasks --tasks-dir DIR` lists the tasks of DIR).")


register_task_class(folder_task_class("puzzles"))
register_task_class(folder_task_class("refactors"))
register_task_class(REAL_PRS)

"""Tasks: what the harness asks of a task (``Task``), the task classes' one registry, the task
folder format (``folder``) and the real-prs class (``realprs``).

A project adds a class with ``register_task_class(TaskClass(name=..., discover=...))``; see
docs/howto/add-a-task-class.md."""
from pytest_arena.tasks.base import Part, ScoringUnavailable, Task, TaskClass, TaskRegistry, TaskSettings, TaskSource
from pytest_arena.tasks.classes import (
    check_task_class,
    folder_task_class,
    get_task_class,
    load_tasks,
    read_task_folders,
    register_task_class,
    task_classes,
)

__all__ = [
    "Part", "ScoringUnavailable", "Task", "TaskClass", "TaskRegistry", "TaskSettings", "TaskSource",
    "check_task_class", "folder_task_class", "get_task_class", "load_tasks", "read_task_folders", "register_task_class",
    "task_classes",
]

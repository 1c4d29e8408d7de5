"""The ``real-prs`` task class's record: its tasks are the shipped recipes (prepared by setup), or
the user's own SWE-bench instances when the config names them (``benchmark.real_prs``).

Imported by the class registry whenever it is, so the heavy modules load only when real-prs tasks
are discovered or prepared."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_arena.tasks.base import TaskClass, TaskSource
from pytest_arena.tasks.realprs import NAME

if TYPE_CHECKING:
    from pytest_arena.tasks.realprs.task import RealPrTask

__all__ = ["REAL_PRS", "real_prs_tasks"]


def real_prs_tasks(source: TaskSource) -> list[RealPrTask]:
    """The real-prs tasks this config runs."""
    from pytest_arena.errors import ConfigError
    from pytest_arena.tasks.realprs.prepare import real_prs_root
    from pytest_arena.tasks.realprs.recipe import Recipe
    from pytest_arena.tasks.realprs.task import jsonl_tasks, recipe_tasks

    config, config_path, tasks_dir = source.config, source.config_path, source.tasks_dir
    store = real_prs_root(source.install_root)
    data = config.benchmark.real_prs
    if data is None:
        tasks = recipe_tasks(tasks_dir, store)
        if not tasks:
            raise ConfigError(f"{config_path}: benchmark.task_classes lists real-prs, but {tasks_dir}/real-prs "
                              f"holds no recipe: point benchmark.real_prs at your SWE-bench data instead.")
    else:
        instances, repos = (_beside(config_path, value) for value in (data.instances, data.repos))
        if not repos.is_dir():
            raise ConfigError(f"{config_path}: field 'benchmark.real_prs.repos': {repos} is not a folder: "
                              f"point it at the folder holding your clones of the instances' repositories.")
        defaults = Recipe.model_fields
        tasks = jsonl_tasks(instances, repos, store, timeout_s=defaults["timeout_s"].default,
                            scoring_timeout_s=defaults["scoring_timeout_s"].default)
    return [dataclasses.replace(task, scoring_mode=config.scoring.real_prs) for task in tasks]


def _prepare_shipped(tasks_root: Path, install_root: Path, log: Callable[[str], None]) -> int:
    from pytest_arena.tasks.realprs.setup import prepare_shipped

    return prepare_shipped(tasks_root, install_root, log)


def _beside(config_path: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (Path(config_path).parent / path).resolve()


REAL_PRS = TaskClass(name=NAME, discover=real_prs_tasks, setup=_prepare_shipped,
                     setup_help="downloads its instances' sdists from PyPI")

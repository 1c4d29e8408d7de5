"""Adding real-prs tasks to the registry: the shipped recipes (prepared by setup), or the user's
own SWE-bench instances when the config names them (``benchmark.real_prs``)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_arena.agents.installers import default_install_root
from pytest_arena.errors import ConfigError
from pytest_arena.tasks.folder import TaskRegistry
from pytest_arena.tasks.realprs.prepare import real_prs_root
from pytest_arena.tasks.realprs.recipe import Recipe
from pytest_arena.tasks.realprs.task import jsonl_tasks, recipe_tasks

_DEFAULTS = Recipe.model_fields


def with_real_prs(registry: TaskRegistry, config, config_path: Path, tasks_dir: Path, host) -> TaskRegistry:
    """``registry`` plus the real-prs tasks this config runs."""
    install_root = Path(host.install_root).expanduser() if host.install_root else default_install_root()
    store = real_prs_root(install_root)
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
        tasks = jsonl_tasks(instances, repos, store, timeout_s=_DEFAULTS["timeout_s"].default,
                            scoring_timeout_s=_DEFAULTS["scoring_timeout_s"].default)
    tasks = [dataclasses.replace(task, scoring_mode=config.scoring.real_prs) for task in tasks]
    return TaskRegistry({**registry.tasks, **{task.id: task for task in tasks}})


def _beside(config_path: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (Path(config_path).parent / path).resolve()

"""``python -m pytest_arena setup --tasks real-prs``: prepare every shipped instance (download
and check both sdists, derive the repository, patch and test_patch, build its environment)."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pytest_arena.errors import TaskError
from pytest_arena.scoring.env import env_root
from pytest_arena.scoring.env import prepare as prepare_scoring_env
from pytest_arena.tasks.realprs.instance import Instance
from pytest_arena.tasks.realprs.prepare import (
    FINGERPRINT_FILE,
    INSTANCE_FILE,
    check_unchanged,
    instance_dir,
    instance_from_recipe,
    prepare_instance,
    real_prs_root,
    store_lock,
)
from pytest_arena.tasks.realprs.recipe import RECIPE_FOLDER, Recipe, discover_recipes
from pytest_arena.tasks.realprs.task import matches, recipe_tasks


def prepare_shipped(tasks_root: Path, install_root: Path, log: Callable[[str], None]) -> int:
    """Prepare the recipes under ``<tasks_root>/real-prs``; returns how many."""
    store = real_prs_root(install_root)
    recipes = discover_recipes(tasks_root)
    with store_lock(store):
        _prepare(recipes, tasks_root, store, log)
    base = prepare_scoring_env(env_root(install_root))
    for task in recipe_tasks(tasks_root, store):
        env = task.scoring_env(base)
        log(f"real-prs {task.instance.instance_id}: environment {env.site}")
    return len(recipes)


def _prepare(recipes: list[Recipe], tasks_root: Path, store: Path, log: Callable[[str], None]) -> None:
    for recipe in recipes:
        folder = instance_dir(store, recipe.instance_id)
        where = str(Path(tasks_root) / RECIPE_FOLDER / f"{recipe.instance_id}.yaml")
        if (folder / INSTANCE_FILE).is_file():
            why = _outdated(folder, recipe)
            if why is None:
                log(f"real-prs {recipe.instance_id}: prepared already ({folder})")
                continue
            log(f"real-prs {recipe.instance_id}: preparing again ({why})")
            shutil.rmtree(folder)
        instance, repo = instance_from_recipe(recipe, store, where)
        prepare_instance(instance, repo, store)
        log(f"real-prs {recipe.instance_id}: prepared ({recipe.pypi} {recipe.base.version} -> "
            f"{recipe.fix.version}, base {instance.base_commit[:12]})")


def _outdated(folder: Path, recipe: Recipe) -> str | None:
    """Why the prepared folder must be made again (another recipe, an older layout, a repository
    that changed since), or None."""
    instance = Instance.model_validate_json((folder / INSTANCE_FILE).read_text())
    if not matches(instance, recipe):
        return "the recipe changed"
    if not (folder / FINGERPRINT_FILE).is_file():
        return "prepared by an older harness"
    try:
        check_unchanged(folder / "repo", folder / FINGERPRINT_FILE, instance.base_commit, recipe.instance_id)
    except TaskError:
        return "its repository changed since it was prepared"
    return None

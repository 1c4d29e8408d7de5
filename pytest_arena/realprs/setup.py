"""``python -m pytest_arena setup --tasks real-prs``: prepare every shipped instance (download
and check both sdists, derive the repository, patch and test_patch, build its environment)."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..scoring_env import env_root, prepare as prepare_scoring_env
from .instance import Instance
from .prepare import INSTANCE_FILE, instance_dir, instance_from_recipe, prepare_instance, real_prs_root
from .recipe import RECIPE_FOLDER, discover_recipes
from .task import matches, recipe_tasks


def prepare_shipped(tasks_root: Path, install_root: Path, log) -> int:
    """Prepare the recipes under ``<tasks_root>/real-prs``; returns how many."""
    store = real_prs_root(install_root)
    recipes = discover_recipes(tasks_root)
    for recipe in recipes:
        folder = instance_dir(store, recipe.instance_id)
        where = str(Path(tasks_root) / RECIPE_FOLDER / f"{recipe.instance_id}.yaml")
        if (folder / INSTANCE_FILE).is_file():
            if matches(Instance.model_validate_json((folder / INSTANCE_FILE).read_text()), recipe):
                log(f"real-prs {recipe.instance_id}: prepared already ({folder})")
                continue
            shutil.rmtree(folder)
        instance, repo = instance_from_recipe(recipe, store, where)
        prepare_instance(instance, repo, store)
        log(f"real-prs {recipe.instance_id}: prepared ({recipe.pypi} {recipe.base.version} -> "
            f"{recipe.fix.version}, base {instance.base_commit[:12]})")
    base = prepare_scoring_env(env_root(install_root))
    for task in recipe_tasks(tasks_root, store):
        env = task.scoring_env(base)
        log(f"real-prs {task.instance.instance_id}: environment {env.site}")
    return len(recipes)

"""The shipped instances as setup derives them: SWE-bench instances whose patch and test_patch
come from the two releases' sdists, and whose repository holds neither."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pytest_arena.errors import ArenaError, TaskError
from pytest_arena.sweep.session import SHIPPED_TASKS
from pytest_arena.tasks.realprs.instance import Instance
from pytest_arena.tasks.realprs.prepare import instance_dir, instance_from_recipe, touched_files
from pytest_arena.tasks.realprs.recipe import discover_recipes, read_recipe

RECIPES = discover_recipes(SHIPPED_TASKS)
SWEBENCH_KEYS = {"instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch",
                 "FAIL_TO_PASS", "PASS_TO_PASS", "version", "environment_setup_commit"}


def test_five_instances_from_three_projects():
    assert len(RECIPES) >= 5
    assert len({recipe.pypi for recipe in RECIPES}) >= 3


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.instance_id)
def test_prepared_instance_is_a_swebench_instance(store, recipe):
    folder = instance_dir(store, recipe.instance_id)
    raw = json.loads((folder / "instance.json").read_text())
    assert SWEBENCH_KEYS <= set(raw)
    instance = Instance.model_validate(raw)
    assert touched_files(instance.patch) == recipe.patch_files
    assert touched_files(instance.test_patch) == recipe.test_files
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder / "repo", capture_output=True, text=True)
    assert head.stdout.strip() == instance.base_commit
    # The agent's starting point holds neither the fix nor its test.
    for part in ("reference", "tests"):
        for rel, content in _files(folder / part):
            assert not (folder / "repo" / rel).is_file() or (folder / "repo" / rel).read_bytes() != content


def _files(base: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(base).as_posix(), p.read_bytes()) for p in base.rglob("*") if p.is_file()]


def test_base_commit_is_the_same_on_every_derivation(store):
    recipe = next(r for r in RECIPES if r.instance_id == "PyCQA__pyflakes-3.0.1")
    instance, _ = instance_from_recipe(recipe, store, "test")
    prepared = json.loads((instance_dir(store, recipe.instance_id) / "instance.json").read_text())
    assert instance.base_commit == prepared["base_commit"]
    assert instance.patch == prepared["patch"] and instance.test_patch == prepared["test_patch"]


def test_a_wrong_sdist_hash_is_one_clear_error(store, tmp_path):
    source = SHIPPED_TASKS / "real-prs" / "PyCQA__pyflakes-3.0.1.yaml"
    bad = tmp_path / source.name
    bad.write_text(source.read_text().replace("12da339341ba", "00da339341ba"))
    with pytest.raises(ArenaError) as caught:
        instance_from_recipe(read_recipe(bad), store, str(bad))
    message = str(caught.value)
    assert str(bad) in message and "field 'base'" in message and "sha256" in message
    assert "\n" not in message


def test_a_bad_recipe_field_is_one_clear_error(tmp_path):
    source = SHIPPED_TASKS / "real-prs" / "PyCQA__pyflakes-3.0.1.yaml"
    bad = tmp_path / source.name
    bad.write_text(source.read_text().replace("patch_files: [pyflakes/checker.py]", "patch_files: []"))
    with pytest.raises(TaskError, match=r"PyCQA__pyflakes-3.0.1.yaml: field 'patch_files'"):
        read_recipe(bad)


def test_instances_load_with_the_official_swebench_loader(store, tmp_path):
    utils = pytest.importorskip("swebench.harness.utils")  # the optional extra: pip install '.[real-prs]'
    from swebench.types import SWEbenchInstance

    data = tmp_path / "ours.jsonl"
    data.write_text("".join((instance_dir(store, r.instance_id) / "instance.json").read_text().replace("\n", "")
                            + "\n" for r in RECIPES))
    loaded = utils.load_swebench_dataset(str(data), "test")
    assert [i["instance_id"] for i in loaded] == [r.instance_id for r in RECIPES]
    assert all(set(SWEbenchInstance.__annotations__) <= set(i) for i in loaded)

"""The shipped task suites and configs, found by a config anywhere (issue 24): ``--arena-config`` takes
a path or a shipped config's name; a config naming ``benchmark.task_ids`` without
``benchmark.tasks_dir`` finds them in the shipped suites, then in the user's own ``tasks/``; an id
found in neither is one message naming the file, the field and where it looked. In a checkout the
shipped suites are the repository's top-level folders (an installed wheel: tests/install)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_arena.errors import ConfigError
from pytest_arena.paths import shipped_dir
from pytest_arena.sweep.config.loading import load_config
from pytest_arena.sweep.session import (
    SHIPPED_CONFIGS,
    SHIPPED_TASKS,
    load_session_tasks,
    resolve_config_path,
    task_folders,
)
from tests.core.arena_project import make_config, make_task

ROOT = Path(__file__).resolve().parents[2]


def test_in_a_checkout_the_shipped_suites_are_the_top_level_folders():
    assert shipped_dir("tasks") == SHIPPED_TASKS == ROOT / "tasks"
    assert shipped_dir("configs") == SHIPPED_CONFIGS == ROOT / "configs"


def test_arena_config_takes_a_path_or_a_shipped_name(tmp_path: Path):
    own = make_config(tmp_path, "smoke.yaml")
    assert resolve_config_path("smoke.yaml", tmp_path) == own  # a file of the user's wins over the name
    assert resolve_config_path("smoke", tmp_path) == SHIPPED_CONFIGS / "smoke.yaml"
    assert resolve_config_path("validate-tasks.yaml", tmp_path / "x") == SHIPPED_CONFIGS / "validate-tasks.yaml"
    with pytest.raises(ConfigError) as err:
        resolve_config_path("smokee", tmp_path)
    assert str(err.value).startswith(f"--arena-config smokee: no config file {tmp_path / 'smokee'}, and no config "
                                      f"shipped with pytest-arena is named 'smokee' (shipped, in {SHIPPED_CONFIGS}: ")
    assert "validate-tasks" in str(err.value) and "schema" not in str(err.value)
    with pytest.raises(ConfigError):  # a path is never looked up among the shipped names
        resolve_config_path("sub/smoke.yaml", tmp_path)


def _registry(config: Path, project: Path):
    return load_session_tasks(load_config(config), config, project, project / "agents")


def test_task_ids_come_from_the_shipped_suites_then_the_users_own_folder(tmp_path: Path):
    make_task(tmp_path, "demo/adder")
    make_task(tmp_path, "exercism-python/pig-latin", module="pig")  # the user's task under a shipped id
    config = make_config(tmp_path)
    config.write_text(config.read_text().replace(
        "  seeds:", "  task_ids: [exercism-python/pig-latin, demo/adder]\n  seeds:"))
    assert task_folders(load_config(config), tmp_path, config) == [SHIPPED_TASKS, tmp_path / "tasks"]
    registry = _registry(config, tmp_path)
    assert registry.get("exercism-python/pig-latin").root == SHIPPED_TASKS / "puzzles" / "pig-latin"
    assert registry.get("demo/adder").root == tmp_path / "tasks" / "puzzles" / "adder"


def test_without_task_ids_the_users_own_folder_alone_is_read(tmp_path: Path):
    make_task(tmp_path, "demo/adder")
    config = make_config(tmp_path)
    assert _registry(config, tmp_path).ids() == ["demo/adder"]
    bare = tmp_path / "elsewhere"
    bare.mkdir()
    config = make_config(bare)  # no tasks/ of the user's: the shipped suites
    assert "exercism-python/pig-latin" in _registry(config, bare).ids()


def test_a_task_id_found_nowhere_names_the_file_the_field_and_the_folders(tmp_path: Path):
    make_task(tmp_path, "demo/adder")
    config = make_config(tmp_path)
    config.write_text(config.read_text().replace("  seeds:", "  task_ids: [demo/adder, exercism-python/pig-latn]\n"
                                                              "  seeds:"))
    with pytest.raises(ConfigError) as err:
        _registry(config, tmp_path)
    assert str(err.value) == (
        f"{config}: field 'benchmark.task_ids': unknown task id 'exercism-python/pig-latn', looked up in "
        f"{SHIPPED_TASKS} and in {tmp_path / 'tasks'}; did you mean 'exercism-python/pig-latin'? "
        "(`python -m pytest_arena tasks` lists the shipped ones; set benchmark.tasks_dir to the folder holding "
        "yours).")
    # benchmark.tasks_dir set: that folder alone, the shipped suites are not looked in
    config.write_text(config.read_text().replace("benchmark:", "benchmark:\n  tasks_dir: tasks"))
    with pytest.raises(ConfigError, match=r"'exercism-python/pig-latn', looked up in \S+/tasks \("):
        _registry(config, tmp_path)


def test_a_config_outside_the_rootdir_is_collected_under_its_file_name(pytester: pytest.Pytester,
                                                                       tmp_path_factory: pytest.TempPathFactory):
    # Its node id would otherwise be "::demo/adder[oracle-s42]" (a shipped config run by name is
    # outside the user's rootdir). The joined --arena-config=PATH keeps the path out of pytest's
    # choice of rootdir, as xdist hands it to workers.
    pytester.makeini("[pytest]\n")
    make_task(pytester.path, "demo/adder")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    config = make_config(elsewhere, "arena.yaml", agents=("oracle",))
    config.write_text(config.read_text().replace("benchmark:", f"benchmark:\n  tasks_dir: {pytester.path / 'tasks'}"))
    result = pytester.runpytest_subprocess(f"--arena-config={config}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    (row,) = [json.loads(line) for line in (pytester.path / "results" / "demo" / "raw.jsonl").read_text().splitlines()]
    assert row["node_id"] == "arena.yaml::demo/adder[oracle-s42]"

"""A project adds a task class of its own from its conftest.py (``register_task_class``): the
config accepts its name, the session asks it for its tasks, and the runner and the scorer treat
them by what the tasks say (the tests that count, whether rows report "resolved"), never by the
class's name. The config refuses a class nobody registered, in one line naming the field, and
``setup --tasks`` offers the classes that declare a setup step."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_arena.tasks import classes

from .arena_project import make_config, make_task

# The project's own format: katas.toml beside the tasks folder, one table per kata.
KATAS_TOML = '''\
[double]
stub = "def double(x):\\n    raise NotImplementedError\\n"
solution = "def double(x):\\n    return 2 * x\\n"
checks = ["double(2) == 4", "double(-1) == -2"]

[square]
stub = "def square(x):\\n    return x\\n"
solution = "def square(x):\\n    return x * x\\n"
checks = ["square(3) == 9", "square(-2) == 4", "square(0) == 0"]
'''

KATAS_CONFTEST = '''\
"""Katas: a task class of this project's own, read from katas.toml."""
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from pytest_arena.tasks import TaskClass, register_task_class


class KataSpec(BaseModel):
    title: str
    timeout_s: int = 60
    scoring_timeout_s: int = 30
    tests_visible: bool = False
    stresses: str = "one function"


@dataclass(frozen=True)
class Kata:
    name: str
    stub: str
    solution: str
    checks: tuple
    root: Path  # katas.toml

    task_class = "katas"
    shape = "kata"
    reports_resolved = True
    check_reference_at_start = True
    test_files = ("test_kata.py",)

    @property
    def id(self):
        return f"kata/{self.name}"

    @property
    def spec(self):
        return KataSpec(title=self.name)

    @property
    def prompt(self):
        return f"Implement {self.name} in kata.py."

    @property
    def test_ids(self):  # test_style never counts: it fails whatever the agent does
        return tuple(f"test_kata.py::test_check_{i}" for i in range(len(self.checks)))

    @property
    def content_digest(self):
        return hashlib.sha256(repr(self).encode()).hexdigest()[:24]

    def files(self, part):
        tests = "from kata import *\\n\\ndef test_style():\\n    assert False\\n" + "".join(
            f"\\ndef test_check_{i}():\\n    assert {check}\\n" for i, check in enumerate(self.checks))
        text = {"workspace": {"kata.py": self.stub}, "tests": {"test_kata.py": tests},
                "reference": {"kata.py": self.solution}}[part]
        return {rel: content.encode() for rel, content in text.items()}

    def materialise(self, parts, dest):
        dest.mkdir(parents=True, exist_ok=True)
        for part in parts:
            for rel, content in self.files(part).items():
                (dest / rel).write_bytes(content)

    def scoring_env(self, base):
        return base

    def record_solution(self, workspace, cell_dir, model):
        (cell_dir / "kata-solution.py").write_bytes((workspace / "kata.py").read_bytes())


def discover(source):
    path = source.tasks_dir.parent / "katas.toml"
    table = tomllib.loads(path.read_text())
    return [Kata(name, entry["stub"], entry["solution"], tuple(entry["checks"]), path)
            for name, entry in sorted(table.items())]


register_task_class(TaskClass(name="katas", discover=discover))
'''


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process pytester run's conftest registers into a copy of the registry, dropped after."""
    monkeypatch.setattr(classes, "_classes", dict(classes._classes))


@pytest.fixture
def project(pytester: pytest.Pytester, registry: None) -> pytest.Pytester:
    make_task(pytester.path)  # a puzzle beside the katas: the config chooses the class
    (pytester.path / "katas.toml").write_text(KATAS_TOML)
    pytester.makeconftest(KATAS_CONFTEST)
    return pytester


def rows(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "results/demo/raw.jsonl").read_text().splitlines() if line]


def test_a_class_from_the_projects_conftest_runs_its_own_tasks_through_a_sweep(project):
    make_config(project.path, classes=("katas",), expect={"null": "fail"})
    listed = project.runpytest("--arena-config", "arena.yaml", "--collect-only", "-q")
    assert [line for line in listed.outlines if "::" in line] == [
        "arena.yaml::kata/double[oracle-s42]", "arena.yaml::kata/double[null-s42]",
        "arena.yaml::kata/square[oracle-s42]", "arena.yaml::kata/square[null-s42]"]
    result = project.runpytest("--arena-config", "arena.yaml", "-v")
    result.assert_outcomes(passed=4)
    got = {(row["task_id"], row["route"]): row for row in rows(project.path)}
    assert {row["category"] for row in got.values()} == {"katas"}
    assert {row["shape"] for row in got.values()} == {"kata"}
    # Only the tests the kata names count (test_style fails for every agent), and rows report
    # "resolved" because the kata says so, not because of its class's name.
    assert got[("kata/square", "oracle")]["quality"] == {
        "functional_pass": True, "tests_passed": 3, "tests_total": 3, "composite": 1.0, "resolved": True}
    assert got[("kata/double", "oracle")]["outcome"] == "pass"
    square_null = got[("kata/square", "null")]
    assert square_null["outcome"] == "fail" and square_null["quality"]["resolved"] is False
    assert square_null["quality"]["tests_passed"] == 1  # square(0) == 0 holds for the stub too
    oracle_cell = project.path / "results/demo" / got[("kata/double", "oracle")]["output_ref"]
    assert (oracle_cell / "kata-solution.py").read_text() == "def double(x):\n    return 2 * x\n"


def test_the_new_class_is_a_marker_and_a_k_word_like_the_built_in_ones(project):
    make_config(project.path, classes=("puzzles", "katas"))
    selected = project.runpytest("--arena-config", "arena.yaml", "--collect-only", "-q", "-m", "katas")
    assert [line for line in selected.outlines if "::" in line] == [
        "arena.yaml::kata/double[oracle-s42]", "arena.yaml::kata/double[null-s42]",
        "arena.yaml::kata/square[oracle-s42]", "arena.yaml::kata/square[null-s42]"]
    puzzles = project.runpytest("--arena-config", "arena.yaml", "--collect-only", "-q", "-k", "not katas")
    assert [line for line in puzzles.outlines if "::" in line] == [
        "arena.yaml::demo/adder[oracle-s42]", "arena.yaml::demo/adder[null-s42]"]


def test_a_class_nobody_registered_is_refused_in_one_line_naming_the_field_and_the_known_classes(project):
    make_config(project.path, classes=("puzzles", "kata"))
    result = project.runpytest("--arena-config", "arena.yaml", "--collect-only")
    assert result.ret != 0
    result.stderr.fnmatch_lines([
        "*arena.yaml: invalid config: field 'benchmark.task_classes': unknown task class 'kata'; "
        "did you mean 'katas'? (known: puzzles, refactors, real-prs, katas; *register_task_class)*"])
    assert "Traceback" not in result.stderr.str()


def test_a_folder_class_registered_in_a_conftest_reads_task_folders(pytester, registry):
    make_task(pytester.path, "demo/drill", task_class="drills", module="drill")
    pytester.makeconftest("from pytest_arena.tasks import folder_task_class, register_task_class\n"
                          "register_task_class(folder_task_class('drills'))\n")
    make_config(pytester.path, classes=("drills",), expect={"null": "fail"})
    pytester.runpytest("--arena-config", "arena.yaml").assert_outcomes(passed=2)
    assert {(row["task_id"], row["category"], row["outcome"]) for row in rows(pytester.path)} == {
        ("demo/drill", "drills", "pass"), ("demo/drill", "drills", "fail")}


def test_a_task_folder_of_an_unregistered_class_is_named_with_the_folder_classes(pytester, registry):
    folder = make_task(pytester.path, "demo/drill", task_class="drills", module="drill")
    make_config(pytester.path, classes=("puzzles",))
    result = pytester.runpytest("--arena-config", "arena.yaml", "--collect-only")
    assert result.ret != 0
    result.stderr.fnmatch_lines([f"*{folder / 'task.yaml'}: field 'class': unknown task-folder class 'drills' "
                                 "(known: puzzles, refactors; a conftest.py can add one with "
                                 "register_task_class(folder_task_class('drills'))).*"])


def test_setup_offers_and_runs_the_setup_step_a_class_declares(registry, monkeypatch, tmp_path, capsys):
    from pytest_arena.sweep import setup
    from pytest_arena.sweep.session import SHIPPED_TASKS
    from pytest_arena.tasks import TaskClass, register_task_class

    prepared: list[tuple[Path, Path]] = []

    def fetch(tasks_root: Path, install_root: Path, log) -> None:
        prepared.append((tasks_root, install_root))
        log("katas: fetched")

    register_task_class(TaskClass(name="katas", discover=lambda source: [], setup=fetch,
                                  setup_help="fetches its katas"))
    monkeypatch.setattr(setup, "check_sandbox", lambda log: None)  # the sandbox is another page's matter
    assert setup.main([]) == 1
    assert "--tasks real-prs|katas" in capsys.readouterr().err
    assert setup.main(["--tasks", "katas", "--root", str(tmp_path)]) == 0
    assert prepared == [(SHIPPED_TASKS, tmp_path.resolve())]
    assert "katas: fetched" in capsys.readouterr().out

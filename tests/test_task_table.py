"""The generated task table: counts come from real pytest collection, --check catches drift."""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_arena.docgen.task_table import END_MARKER, START_MARKER, main, render_markdown, task_rows
from pytest_arena.errors import TaskError

ADDER_TESTS = """\
import pytest
from adder import add

def test_small():
    assert add(1, 2) == 3

@pytest.mark.parametrize("a, b", [(0, 0), (-1, 1), (5, 5)])
def test_many(a, b):
    assert add(a, b) == a + b

class TestNames:
    def test_is_callable(self):
        assert callable(add)
"""


def make_task(tasks_root: Path, slug: str, tests_source: str = ADDER_TESTS,
              stresses: str = "adding | two numbers") -> Path:
    folder = tasks_root / "puzzles" / slug
    for part in ("workspace", "tests", "reference"):
        (folder / part).mkdir(parents=True)
    (folder / "task.yaml").write_text(
        f"id: demo/{slug}\nclass: puzzles\nshape: puzzle\ntitle: {slug}\ntimeout_s: 60\n"
        f"tests_visible: true\nsource: tests\nlicense: MIT\nstresses: \"{stresses}\"\n",
        encoding="utf-8")
    (folder / "prompt.md").write_text("Implement add() in adder.py.\n", encoding="utf-8")
    (folder / "workspace" / "adder.py").write_text(
        "def add(a, b):\n    raise NotImplementedError\n", encoding="utf-8")
    # A data file that looks like a test module: the table must not count it.
    (folder / "workspace" / "samples").mkdir()
    (folder / "workspace" / "samples" / "test_sample_data.py").write_text(
        "def test_not_an_acceptance_test():\n    pass\n", encoding="utf-8")
    (folder / "reference" / "adder.py").write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    (folder / "tests" / "test_adder.py").write_text(tests_source, encoding="utf-8")
    return folder


@pytest.fixture
def tasks_root(tmp_path: Path) -> Path:
    root = tmp_path / "tasks"
    make_task(root, "adder")
    return root


def test_rows_count_collected_items_of_the_acceptance_tests_only(tasks_root):
    assert task_rows(tasks_root) == [{
        "id": "demo/adder", "class": "puzzles", "shape": "puzzle", "tests": 5,
        "stresses": "adding | two numbers",
    }]


def test_markdown_table_has_one_escaped_row_per_task_and_a_total(tasks_root):
    extra = "\ndef test_extra():\n    assert add(2, 2) == 4\n"
    make_task(tasks_root, "bigger", tests_source=ADDER_TESTS + extra, stresses="more tests")
    table = render_markdown(tasks_root)
    lines = table.splitlines()
    assert lines[0] == "| id | class | shape | tests | stresses |"
    assert lines[2] == "| `demo/adder` | puzzles | puzzle | 5 | adding \\| two numbers |"
    assert lines[3] == "| `demo/bigger` | puzzles | puzzle | 6 | more tests |"
    assert lines[-1] == "2 tasks, 11 acceptance tests."


def test_uncollectable_tests_name_the_task(tmp_path):
    root = tmp_path / "tasks"
    make_task(root, "broken", tests_source="def test_oops(:\n    pass\n")
    with pytest.raises(TaskError, match=r"demo/broken.*could not collect"):
        task_rows(root)


def test_main_prints_the_table(tasks_root, capsys):
    assert main(["--tasks-dir", str(tasks_root)]) == 0
    assert "| `demo/adder` | puzzles | puzzle | 5 |" in capsys.readouterr().out


def test_write_then_check_passes_and_a_new_task_makes_check_fail(tasks_root, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Demo\n\nIntro.\n\n{START_MARKER}\nold table\n{END_MARKER}\n\nAfter.\n",
                      encoding="utf-8")
    assert main(["--tasks-dir", str(tasks_root), "--write", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text and "| `demo/adder` |" in text
    assert text.startswith("# Demo\n\nIntro.\n\n") and text.endswith(f"{END_MARKER}\n\nAfter.\n")
    assert main(["--tasks-dir", str(tasks_root), "--check", str(readme)]) == 0

    make_task(tasks_root, "newcomer")
    capsys.readouterr()
    assert main(["--tasks-dir", str(tasks_root), "--check", str(readme)]) == 1
    captured = capsys.readouterr()
    assert "+| `demo/newcomer` | puzzles | puzzle | 5 |" in captured.out
    assert f"python -m pytest_arena tasks --write {readme}" in captured.err
    assert readme.read_text(encoding="utf-8") == text  # --check never writes


def test_check_without_markers_says_how_to_fix(tasks_root, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# Demo\n", encoding="utf-8")
    assert main(["--tasks-dir", str(tasks_root), "--check", str(readme)]) == 2
    err = capsys.readouterr().err
    assert START_MARKER in err and END_MARKER in err and str(readme) in err


def test_missing_tasks_folder_is_one_clear_error(tmp_path, capsys):
    assert main(["--tasks-dir", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err

"""The task table of the documentation (``docs/reference/tasks.md``), generated from the task
folders so it cannot drift.

    python -m pytest_arena tasks                 print the table (Markdown)
    python -m pytest_arena tasks --check [FILE]  exit 1 if the page's table is out of date
    python -m pytest_arena tasks --write [FILE]  replace the page's table with a fresh one

FILE defaults to ``docs/reference/tasks.md``; the table sits between the lines
``<!-- task-table:start -->`` and ``<!-- task-table:end -->``. Test counts come from pytest itself:
each task's workspace, reference and tests are copied into a temp folder and
``pytest --collect-only -q`` lists the test items. It is not part of ``python -m pytest_arena
schema``: counting runs one pytest per task.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pytest_arena.docgen.sections import markers, sync_section
from pytest_arena.errors import ArenaError, TaskError
from pytest_arena.paths import shipped_dir
from pytest_arena.tasks.classes import read_task_folders
from pytest_arena.tasks.folder import Task

START_MARKER, END_MARKER = markers("task-table")
DEFAULT_PAGE = Path("docs/reference/tasks.md")
COLUMNS = ("id", "class", "shape", "tests", "stresses")
# Collection is one pytest process per task: a few in parallel keeps `--check` quick.
_PARALLEL_COLLECTIONS = 4


def count_tests(task: Task) -> int:
    """How many test items pytest collects for the task, with the reference solution in place."""
    with tempfile.TemporaryDirectory(prefix="arena-count-") as scratch:
        root = Path(scratch)
        task.materialise(("workspace", "reference", "tests"), root)
        proc = _collect(task, root)
    node_ids = [line for line in proc.stdout.splitlines() if _is_node_id(line)]
    if proc.returncode != 0 or not node_ids:
        output = proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or ["no output"]
        raise TaskError(
            f"task {task.id} ({task.root}): pytest could not collect its tests "
            f"(exit {proc.returncode}: {output[-1]}). Run `pytest --collect-only` on workspace/ + "
            f"reference/ + tests/ copied together and fix the error.")
    return len(node_ids)


def _collect(task: Task, root: Path) -> subprocess.CompletedProcess[str]:
    # Only the acceptance test modules: data files in the workspace are never collected.
    modules = [rel for rel in task.test_files if rel.endswith(".py") and Path(rel).name != "conftest.py"]
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
               "--rootdir", str(root), *modules]
    # Acceptance tests use plain pytest; skipping installed plugins (this one included) makes
    # each collection ~5x faster and the count independent of the environment.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    try:
        return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                              timeout=task.spec.scoring_timeout_s)
    except subprocess.TimeoutExpired:
        raise TaskError(
            f"task {task.id} ({task.root}): collecting its tests took longer than "
            f"scoring_timeout_s={task.spec.scoring_timeout_s}s. Make the test modules cheap "
            f"to import.") from None


def _is_node_id(line: str) -> bool:
    """``test_x.py::test_a[p]`` or ``sub/test_y.py::TestK::test_b``: one collected item."""
    path, separator, _ = line.partition("::")
    return bool(separator) and path.endswith(".py") and not path.startswith(" ")


def task_rows(tasks_root: Path) -> list[dict[str, Any]]:
    """One row per task folder under ``tasks_root``, in the registry's (sorted path) order."""
    tasks = list(read_task_folders(tasks_root).tasks.values())
    with ThreadPoolExecutor(max_workers=_PARALLEL_COLLECTIONS) as pool:
        counts = list(pool.map(count_tests, tasks))
    return [
        {"id": task.id, "class": task.task_class, "shape": task.shape, "tests": count,
         "stresses": task.spec.stresses}
        for task, count in zip(tasks, counts)
    ]


def render_markdown(tasks_root: Path) -> str:
    """The task table as Markdown, ending in a newline."""
    rows = task_rows(tasks_root)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|---|---|---:|---|"]
    for row in rows:
        cells = [f"`{row['id']}`", row["class"], row["shape"], str(row["tests"]),
                 _escape(row["stresses"])]
        lines.append("| " + " | ".join(cells) + " |")
    total = sum(row["tests"] for row in rows)
    lines.append(f"\n{len(rows)} tasks, {total} acceptance tests.")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    """The ``tasks`` command group: ``tasks [table] [options]`` prints (or checks) the table,
    ``tasks import exercism SOURCE --out DIR`` imports Exercism-layout exercises as task folders."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["import"]:
        return import_command(argv[1:])
    if argv[:1] == ["table"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(
        prog="python -m pytest_arena tasks [table]",
        description="Print the task table generated from the task folders; `python -m pytest_arena tasks import "
                    "exercism SOURCE --out DIR` (its own --help) imports Exercism exercises as task folders")
    parser.add_argument("--tasks-dir", type=Path, default=None,
                        help="folder holding <class>/<slug>/task.yaml (default: ./tasks, else the suites shipped "
                             "with pytest-arena)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", type=Path, metavar="FILE", nargs="?", const=DEFAULT_PAGE,
                      help="exit 1 if the table between the task-table markers in FILE is out of date "
                           f"(default FILE: {DEFAULT_PAGE})")
    mode.add_argument("--write", type=Path, metavar="FILE", nargs="?", const=DEFAULT_PAGE,
                      help=f"replace the table between the task-table markers in FILE (default: {DEFAULT_PAGE})")
    args = parser.parse_args(argv)
    tasks_dir = args.tasks_dir or (Path("tasks") if Path("tasks").is_dir() else shipped_dir("tasks"))
    try:
        table = render_markdown(tasks_dir)
        if args.check is None and args.write is None:
            sys.stdout.write(table)
            return 0
        target = args.check or args.write
        return sync_section(target, "task-table", table, write=args.write is not None,
                            fix_command=f"python -m pytest_arena tasks --write {target}")
    except ArenaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


IMPORTERS = {"exercism": "an Exercism track checkout, or a repository of several tracks (aider's polyglot-benchmark)"}


def import_command(argv: list[str]) -> int:
    """``tasks import <kind> ...``: the importer of that kind, with the harness's oracle/null check."""
    if not argv or argv[0] not in IMPORTERS:
        lines = ["usage: python -m pytest_arena tasks import <kind> SOURCE --out DIR [options]", "", "kinds:"]
        lines += [f"  {kind:<9} {what}" for kind, what in IMPORTERS.items()]
        print("\n".join(lines), file=sys.stdout if argv[:1] in (["-h"], ["--help"]) else sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    from pytest_arena.scoring.validation import harness_check
    from pytest_arena.tasks.exercism import main as exercism_main

    return exercism_main(argv[1:], validate=harness_check, shipped=_shipped_ids)


def _shipped_ids() -> dict[str, Path]:
    """The task ids of the suite shipped with this checkout (an import never reuses one)."""
    shipped = shipped_dir("tasks")
    if not shipped.is_dir():
        return {}
    return {task_id: task.root for task_id, task in read_task_folders(shipped).tasks.items()}


if __name__ == "__main__":
    sys.exit(main())

"""What scoring one cell costs per test runner: ``score()`` on the oracle's workspace of the tiny
hand-made task of each language (tests/fixtures/runners/<language>/double), against the same
task's pytest twin (pig-latin, a shipped Python task) as the baseline, interleaved in one process.

    python benchmarks/runner_scoring.py [--runs 5] [--languages go,rust,javascript,cpp,java]

The first score of a task also runs its tests once against the reference (the reference-tests
check, once per task per process): printed apart as "first". Every later run starts from cold
toolchain caches (each cell's build folder is its own), which is what a cell pays.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pytest_arena.paths import default_install_root
from pytest_arena.scoring.runners import get_test_runner, runner_tools_dir
from pytest_arena.scoring.score import score
from pytest_arena.tasks.folder import Task, load_task

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "runners"
BASELINE = REPO / "tasks" / "puzzles" / "pig-latin"


def timed(task: Task, scratch: Path) -> float:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    task.materialise(("workspace", "reference"), folder / "workspace")
    start = time.perf_counter()
    result = score(task, folder / "workspace", folder / "scoring")
    elapsed = time.perf_counter() - start
    if result.status != "pass":
        sys.exit(f"{task.id}: score() did not pass the oracle's workspace: {result.reason}")
    shutil.rmtree(folder, ignore_errors=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--languages", default="go,rust,javascript,cpp,java")
    args = parser.parse_args()
    tasks = {"pytest": load_task(BASELINE)}
    for language in args.languages.split(","):
        toolchain = get_test_runner(language).toolchain
        missing = toolchain.missing(runner_tools_dir(default_install_root(), language)) if toolchain else None
        if missing:
            print(f"{language}: skipped ({missing})")
            continue
        tasks[language] = load_task(FIXTURES / language / "double")
    scratch = Path(tempfile.mkdtemp(prefix="runner-bench-", dir=REPO / ".ci-work" if (REPO / ".ci-work").is_dir()
                                    else None))
    try:
        first = {name: timed(task, scratch) for name, task in tasks.items()}
        times: dict[str, list[float]] = {name: [] for name in tasks}
        for _ in range(args.runs):
            for name, task in tasks.items():
                times[name].append(timed(task, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = statistics.median(times["pytest"])
    print(f"{'runner':<11} {'first (incl. reference run)':>28} {'median per cell':>16} {'range':>15} {'vs pytest':>10}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:<11} {first[name]:>27.2f}s {med:>15.2f}s {min(samples):>6.2f}-{max(samples):<6.2f}s "
              f"{med / base:>9.1f}x")


if __name__ == "__main__":
    main()

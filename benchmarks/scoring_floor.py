"""Scoring cost against the bare floor: ``score()`` on a real task's oracle solution vs a bare
``python -m pytest`` of the same tests in a temp dir. Interleaved runs in one process; medians.

    python benchmarks/scoring_floor.py [--task tasks/puzzles/grep] [--runs 15]

Two floors are timed: ``bare`` is what a user would type (entry-point plugins autoloaded, as
installed here), ``bare-lean`` disables plugin autoload like scoring does. The ratio against the
lean floor is the strict one: it leaves only the sandbox, the copy/restore and the JUnit work.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_arena.sandbox.run import sandbox_kind
from pytest_arena.scoring.score import score
from pytest_arena.tasks.folder import Task, load_task

REPO = Path(__file__).resolve().parent.parent


def oracle_workspace(task: Task, folder: Path) -> Path:
    """The workspace the oracle agent leaves: public files, reference overlaid, tests visible."""
    for part in ("workspace", "reference", "tests"):
        for rel, content in task.files(part).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(content)
    return folder


def time_bare(task: Task, workspace: Path, scratch: Path, *, lean: bool) -> float:
    run_dir = Path(tempfile.mkdtemp(dir=scratch))
    shutil.copytree(workspace, run_dir, dirs_exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    if lean:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *task.test_files], cwd=run_dir, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bare pytest failed on the oracle solution:\n{done.stdout.decode()[-2000:]}")
    return elapsed


def time_score(task: Task, workspace: Path, scratch: Path) -> float:
    start = time.perf_counter()
    result = score(task, workspace, Path(tempfile.mkdtemp(dir=scratch)) / "scoring")
    elapsed = time.perf_counter() - start
    if result.status != "pass":
        sys.exit(f"score() did not pass the oracle solution: {result.reason}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=REPO / "tasks/puzzles/grep")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    task = load_task(args.task)
    print(f"task {task.id}: {len(task.test_files)} test file(s); sandbox kind: {sandbox_kind()}; "
          f"python {sys.version.split()[0]}; {os.cpu_count()} cpus; {args.runs} runs each")
    times: dict[str, list[float]] = {"bare": [], "bare-lean": [], "score": []}
    with tempfile.TemporaryDirectory(prefix="arena-scoring-floor-") as scratch_name:
        scratch = Path(scratch_name)
        workspace = oracle_workspace(task, scratch / "oracle")
        time_score(task, workspace, scratch)  # warm-up: sandbox detection, file caches
        for _ in range(args.runs):
            times["bare"].append(time_bare(task, workspace, scratch, lean=False))
            times["bare-lean"].append(time_bare(task, workspace, scratch, lean=True))
            times["score"].append(time_score(task, workspace, scratch))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        spread = f"min {min(times[name]) * 1000:.0f} / max {max(times[name]) * 1000:.0f}"
        print(f"  {name:10s} median {median * 1000:7.1f} ms   ({spread} ms)")
    print(f"score / bare       = {medians['score'] / medians['bare']:.2f}x")
    print(f"score / bare-lean  = {medians['score'] / medians['bare-lean']:.2f}x")


if __name__ == "__main__":
    main()

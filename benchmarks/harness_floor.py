"""Harness floor per cell: the `oracle` agent through the whole plugin (workspace, agent, sandboxed
scoring, row write) against running the same acceptance tests with a bare `python -m pytest` in a
temp dir, measured in the same run. Goal: per-cell harness time <= 1.5x the bare floor.

    python benchmarks/harness_floor.py [--task real-dev/d6-toposort] [--cells 15] [--repeats 3]

Figures: the median of the rows' wall_ms (one cell, end to end inside the plugin); the amortised
session time per cell (whole `pytest --arena-config` session / cells, so pytest's own per-item work
is in); and the bare floor, both lean (plugin autoload off, as the scorer runs it) and default.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_arena.tasks.folder import discover_tasks  # noqa: E402


def bare_run(task, lean: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="bare-") as tmp:
        task.materialise(("workspace", "reference", "tests"), Path(tmp))
        env = dict(os.environ)
        if lean:
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *task.test_files],
                             cwd=tmp, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if out.returncode != 0:
            raise SystemExit(f"bare run failed:\n{out.stdout[-2000:]}")
        return elapsed


def arena_session(task_id: str, cells: int) -> tuple[float, list[int]]:
    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        config = Path(tmp) / "floor.yaml"
        seeds = ", ".join(str(i) for i in range(cells))
        config.write_text(
            f"variant_tag: floor\nout_dir: {tmp}/out\nmodels: {{cloud: scripted, local: embedded/smollm2-135m}}\n"
            f"benchmark:\n  task_classes: [puzzles, refactors]\n  agents: [oracle]\n  task_ids: [{task_id}]\n"
            f"  seeds: [{seeds}]\n  tasks_dir: {ROOT / 'tasks'}\n")
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pytest", "--arena-config", str(config), "-q",
                              "--arena-no-report", "--rootdir", tmp], cwd=tmp, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if out.returncode != 0:
            raise SystemExit(f"arena run failed:\n{out.stdout[-3000:]}")
        rows = [json.loads(line) for line in (Path(tmp) / "out" / "raw.jsonl").read_text().splitlines()]
        return elapsed, [r["latency"]["wall_ms"] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="real-dev/d6-toposort")
    parser.add_argument("--cells", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    task = discover_tasks(ROOT / "tasks").get(args.task)
    lean, default, per_cell_session, row_ms = [], [], [], []
    for _ in range(args.repeats):
        for _ in range(5):
            lean.append(bare_run(task, lean=True))
            default.append(bare_run(task, lean=False))
        session_s, walls = arena_session(args.task, args.cells)
        per_cell_session.append(session_s / args.cells)
        row_ms.extend(walls)
    lean_s, default_s = statistics.median(lean), statistics.median(default)
    row_s, session_s = statistics.median(row_ms) / 1000, statistics.median(per_cell_session)
    print(f"task {args.task}: {args.repeats} sessions x {args.cells} oracle cells; {len(lean)} bare runs each")
    print(f"bare python -m pytest, lean (autoload off) : median {lean_s * 1000:7.0f} ms")
    print(f"bare python -m pytest, default plugins     : median {default_s * 1000:7.0f} ms")
    print(f"arena cell, row wall_ms                    : median {row_s * 1000:7.0f} ms   "
          f"{row_s / lean_s:.2f}x lean floor, {row_s / default_s:.2f}x default floor")
    print(f"arena session time / cells (amortised)     : median {session_s * 1000:7.0f} ms   "
          f"{session_s / lean_s:.2f}x lean floor, {session_s / default_s:.2f}x default floor")
    print(f"goal <= 1.5x the lean floor per cell: {'met' if row_s / lean_s <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()

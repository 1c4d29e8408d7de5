"""What the harness pays, in time and peak memory, to keep what an agent left in its workspace:
the snapshot for patch.diff, the copy into the cell folder and the hand-off archive.

Each workspace is measured twice in the same process: with the harness's code
(``pytest_arena.sandbox.leftovers``, ``cell_story.snapshot``, ``handoff.archive_folder``), and with the
approach it replaced, written out below as the baseline (``os.walk`` + ``read_bytes`` of every
file, ``shutil.copytree(symlinks=True)``, the whole archive in memory before its cap is checked).
Peak memory is Python's own allocations (tracemalloc), the part that grows with the workspace.

    python benchmarks/leftovers.py [--repeat 5]

Workspaces: the adder task as an oracle leaves it (3 files, the baseline cell); 10,000 small
files; 200 files of 1 MiB; one sparse 1 GiB file (a 2 GiB one cost the old harness 2.16 GB).
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_arena.cell import handoff
from pytest_arena.cell import story as cell_story
from pytest_arena.sandbox import leftovers  # noqa: E402

CAP = 8 << 20  # hosts.artifacts_cap_mb's default


def make_workspaces(root: Path) -> dict[str, Path]:
    spaces = {}
    oracle = root / "oracle"
    oracle.mkdir()
    (oracle / "adder.py").write_text("def add(a, b):\n    return a + b\n")
    (oracle / "test_adder.py").write_text("from adder import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (oracle / "README.md").write_text("adder\n")
    spaces["oracle (3 files)"] = oracle
    small = root / "small"
    small.mkdir()
    for i in range(10_000):
        (small / f"f{i}.txt").write_text(f"line {i}\n")
    spaces["10,000 small files"] = small
    medium = root / "medium"
    medium.mkdir()
    block = os.urandom(1 << 20)
    for i in range(200):
        (medium / f"m{i}.bin").write_bytes(block)
    spaces["200 files of 1 MiB"] = medium
    sparse = root / "sparse"
    sparse.mkdir()
    with open(sparse / "huge.bin", "wb") as f:
        f.truncate(1 << 30)
    spaces["one sparse 1 GiB file"] = sparse
    return spaces


# ---- the baseline: the approach the harness used before (wave 2) ----

def old_snapshot(root: Path) -> dict:
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            files[str(path.relative_to(root))] = path.read_bytes()
    return files


def old_keep(workspace: Path, cell: Path) -> None:
    old_snapshot(workspace)
    shutil.copytree(workspace, cell / "workspace", symlinks=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        tar.add(cell, arcname=".")
    _ = len(buffer.getvalue()) <= CAP  # the old code's cap check: timed, its answer unused


def new_keep(workspace: Path, cell: Path) -> None:
    limits = leftovers.WORKSPACE_LIMITS
    seen = leftovers.walk(workspace, limits)
    cell_story.snapshot(workspace, limits)
    if seen.over is None:
        leftovers.copy_tree(workspace, cell / "workspace", limits)
    handoff.archive_folder(cell, CAP)


def measure(fn, workspace: Path, scratch: Path) -> tuple[float, float]:
    cell = scratch / "cell"
    shutil.rmtree(cell, ignore_errors=True)
    cell.mkdir(parents=True)
    tracemalloc.start()
    start = time.perf_counter()
    fn(workspace, cell)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    shutil.rmtree(cell, ignore_errors=True)
    return elapsed, peak / (1 << 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="arena-bench-leftovers-", dir="/var/tmp"))
    try:
        spaces = make_workspaces(base)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
              f"median [min–max] of {args.repeat} runs")
        print(f"{'workspace':<24} {'harness':>8} {'time s':>22} {'peak MiB':>22}")
        for label, workspace in spaces.items():
            for name, fn in (("before", old_keep), ("now", new_keep)):
                runs = [measure(fn, workspace, base / "scratch") for _ in range(args.repeat)]
                times, peaks = [r[0] for r in runs], [r[1] for r in runs]
                print(f"{label:<24} {name:>8} {statistics.median(times):>8.3f} [{min(times):.3f}–{max(times):.3f}]"
                      f" {statistics.median(peaks):>8.1f} [{min(peaks):.1f}–{max(peaks):.1f}]")
    finally:
        leftovers.remove_tree(base)


if __name__ == "__main__":
    main()

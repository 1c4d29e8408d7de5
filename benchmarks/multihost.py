"""Multi-host sweeps: how many rows per second the controller takes (ResultsStore.accept on real
hand-off payloads: artifacts unpacked, ledger records and the row written with fsync), and oracle
cells on 1 and 2 xdist workers (the speed-up ratio).

    /work/venv/bin/python benchmarks/multihost.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def controller_rows_per_second(sample_row: str, n: int = 300) -> float:
    from pytest_arena.cell.handoff import pack
    from pytest_arena.cell.results import ResultsStore
    from pytest_arena.cell.rows import Row

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        template = Row.model_validate_json(sample_row)
        payloads = []
        for i in range(n):
            cell = tmp / "host" / str(i)
            (cell / "workspace").mkdir(parents=True)
            (cell / "workspace" / "solution.py").write_text("def f():\n    return 1\n" * 50)
            (cell / "junit.xml").write_text("<testsuite tests='3'/>")
            row = template.model_copy(update={"run_id": f"bench-{i}", "output_ref": f"cells/c{i}"})
            payloads.append(pack(row, [], cell, 8 * 2**20)[1])
        store = ResultsStore(tmp / "out")
        t0 = time.perf_counter()
        for payload in payloads:
            store.accept(payload)
        return n / (time.perf_counter() - t0)


def oracle_sweep(workers: int) -> tuple[float, Path]:
    """Seconds for the oracle cells of configs/validate-tasks.yaml, and its raw.jsonl."""
    out = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--arena-config", "configs/validate-tasks.yaml",
            "--arena-no-report", "-k", "oracle", "--arena-out", str(out)]
    if workers > 1:
        args += ["-n", str(workers)]
    t0 = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=False, stdout=subprocess.DEVNULL, env=dict(os.environ))
    return time.perf_counter() - t0, out / "raw.jsonl"


if __name__ == "__main__":
    one, raw = oracle_sweep(1)
    two, _ = oracle_sweep(2)
    rows = raw.read_text().splitlines()
    print(f"oracle cells of configs/validate-tasks.yaml ({len(rows)}): 1 worker {one:.1f} s, "
          f"2 workers {two:.1f} s, speed-up {one / two:.2f}x")
    print(f"controller: {controller_rows_per_second(rows[0]):.0f} rows/s "
          f"(accept: artifacts unpacked, ledger, row written with fsync)")

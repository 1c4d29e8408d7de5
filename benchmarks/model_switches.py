"""Local model switches per sweep: ``--dist loadgroup`` (pytest-arena's automatic group per local
model) against plain ``--dist load``, on ``-n 2``, in the same run.

Each worker is a host with its own Ollama: the fake Ollama of tests/fakes, which like a real host
holds one model at a time and takes ``LOAD_S`` to load another (real 30B loads take tens of
seconds; the ratio, not the value, is the point). The sweep: two local models, the ``chatter``
agent (one real chat through the router per cell), four tasks, always-local and always-cloud
cells (the latter call no local model and carry no group).

    /work/venv/bin/python benchmarks/model_switches.py [REPEATS]
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.core.arena_project import CHATTER_CONFTEST, TEST_AGENTS_CONFTEST, make_task, two_model_config  # noqa: E402
from tests.fakes.fake_ollama import start_fake_ollama  # noqa: E402

LOAD_S = 5.0
SEEDS = (1, 2)
TASKS = ("adder", "multiplier", "summer", "counter")


def project(root: Path) -> Path:
    for module in TASKS:
        make_task(root, f"demo/{module}", module=module)
    (root / "conftest.py").write_text(TEST_AGENTS_CONFTEST + CHATTER_CONFTEST)
    return root


def sweep(dist: str) -> tuple[float, list[int], int]:
    """(wall seconds, model loads per host, cells) of one -n 2 sweep under ``--dist <dist>``."""
    with tempfile.TemporaryDirectory(prefix="arena-switches-") as tmp:
        root = project(Path(tmp))
        fakes = [start_fake_ollama(["model-a", "model-b"], load_s=LOAD_S) for _ in range(2)]
        try:
            two_model_config(root, [fake.base_url for fake in fakes], seeds=SEEDS)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "--arena-config", "arena.yaml",
                            "--arena-no-report", "-n", "2", "--dist", dist], cwd=root, check=False,
                           stdout=subprocess.DEVNULL, env=dict(os.environ))
            wall = time.perf_counter() - t0
            loads = [fake.app.state.loads for fake in fakes]
        finally:
            for fake in fakes:
                fake.stop()
        cells = len((root / "results/demo/raw.jsonl").read_text().splitlines())
    return wall, loads, cells


def main(repeats: int) -> None:
    from pytest_arena.cell import provenance

    prov = provenance.collect("none")
    print(f"machine: {prov.cpu}, {prov.cpus} cpus, {prov.memory_gb:g} GB, {platform.platform()}, "
          f"load average at start {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    results: dict[str, list[tuple[float, list[int], int]]] = {"load": [], "loadgroup": []}
    for i in range(repeats):
        for dist in list(results)[:: 1 if i % 2 == 0 else -1]:  # ABBA order: both modes meet the same machine load
            results[dist].append(sweep(dist))
    for dist, runs in results.items():
        walls = [w for w, _, _ in runs]
        switches = [sum(loads) - sum(1 for n in loads if n) for _, loads, _ in runs]
        print(f"--dist {dist:9} cells {runs[0][2]}: model loads per host {[loads for _, loads, _ in runs]}, "
              f"switches per sweep median {statistics.median(switches):g} (range {min(switches)}-{max(switches)}), "
              f"wall median {statistics.median(walls):.1f} s (range {min(walls):.1f}-{max(walls):.1f}), "
              f"load {LOAD_S:g} s per model load")
    print(f"load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

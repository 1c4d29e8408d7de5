"""Collection time of a ~10,000-cell config (`pytest --arena-config X --collect-only -q`),
against collecting 10,000 plain parametrised tests in the same run. Goal: <= 5 s.

    python benchmarks/collection.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENTS = ["aider", "mini-swe-agent", "cline", "opencode", "claude-code", "codex"]
STRATEGIES = ["always-local", "always-cloud", "rules", "heuristic", "llm-classifier", "embedding-knn",
              "cascade", "phase-aware"]


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed, out.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        seeds = ", ".join(str(s) for s in range(13))  # 17 tasks x 6 agents x 8 strategies x 13 seeds = 10,608
        config = tmpdir / "big.yaml"
        config.write_text(
            f"variant_tag: big\nout_dir: {tmpdir / 'out'}\nmodels: {{cloud: gpt-5.5, local: qwen3.6:35b}}\n"
            f"benchmark:\n  task_classes: [puzzles, refactors]\n  agents: [{', '.join(AGENTS)}]\n"
            f"  strategies: [{', '.join(STRATEGIES)}]\n  seeds: [{seeds}]\n  tasks_dir: {ROOT / 'tasks'}\n")
        plain = tmpdir / "plain"
        plain.mkdir()
        (plain / "test_plain.py").write_text(
            "import pytest\n\n@pytest.mark.parametrize('i', range(10608))\ndef test_cell(i):\n    pass\n")
        arena_cmd = [sys.executable, "-m", "pytest", "--arena-config", str(config), "--collect-only", "-q",
                     "-p", "no:cacheprovider", "--rootdir", str(ROOT)]
        plain_cmd = [sys.executable, "-m", "pytest", str(plain), "--collect-only", "-q", "-p", "no:cacheprovider"]
        arena, baseline = [], []
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            t, arena_line = timed(arena_cmd, ROOT)
            arena.append(t)
            t, plain_line = timed(plain_cmd, tmpdir)
            baseline.append(t)
        a, b = statistics.median(arena), statistics.median(baseline)
        print(f"arena config : {arena_line:>40}  median {a:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in arena)})")
        print(f"plain pytest : {plain_line:>40}  median {b:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in baseline)})")
        print(f"ratio arena/plain: {a / b:.2f}x   goal: arena <= 5 s -> {'met' if a <= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()

"""What imported Exercism tasks cost here, per language: the import's oracle/null check per
exercise, then one real sweep (pytest, the oracle and null agents, N seeds) over the imported
tasks, its cells' wall time read from the rows. Python (the pytest runner) is the baseline.

    python benchmarks/exercism_cells.py [--seeds 3] [--languages python,go,rust,javascript,cpp,java]

The exercises are the tiny ones of tests/core/exercism_trees.py (one test or two each): real
Exercism exercises hold more tests, so their cells cost more. A language whose toolchain is not
installed is imported without the check and its cells are infra_error: it is left out.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_arena.scoring.validation import harness_check  # noqa: E402
from pytest_arena.tasks.exercism import import_exercism  # noqa: E402
from tests.core.exercism_trees import POLYGLOT, exercise, polyglot_exercise  # noqa: E402


def spread(samples: list[float]) -> str:
    return f"{statistics.median(samples):6.2f}s  {min(samples):5.2f}-{max(samples):<5.2f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--languages", default="python," + ",".join(POLYGLOT))
    args = parser.parse_args()
    languages = args.languages.split(",")
    scratch = Path(tempfile.mkdtemp(prefix="exercism-bench-", dir=ROOT / ".ci-work" if (ROOT / ".ci-work").is_dir()
                                    else None))
    try:
        source, out = scratch / "src", scratch / "tasks"
        for language in languages:
            if language == "python":
                for slug in ("doubler", "twice", "thrice"):
                    exercise(source / "python", slug)
            else:
                polyglot_exercise(source, language)
        start = time.perf_counter()
        reports = import_exercism(source, out, validate=harness_check, shipped={}, jobs=1, log=lambda line: None)
        imported_s = time.perf_counter() - start
        checks = {r.language: [e.check_s for e in r.entries if e.check_s is not None] for r in reports}
        validated = [r.language for r in reports if r.counts()["validated"]]
        config = scratch / "sweep.yaml"
        config.write_text(
            "variant_tag: exercism-bench\nout_dir: results\nmodels: {cloud: scripted, local: embedded/smollm2-135m}\n"
            f"benchmark:\n  tasks_dir: {out}\n  task_classes: [puzzles]\n"
            f"  task_ids: {json.dumps([f'exercism-{language}/*' for language in validated])}\n"
            f"  agents: [oracle, null]\n  expect: {{null: fail}}\n  seeds: {list(range(1, args.seeds + 1))}\n"
            "analysis: {resamples: 200, charts: false}\n")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--arena-config",
                               str(config)], cwd=scratch, capture_output=True, text=True)
        sweep_s = time.perf_counter() - start
        raw = scratch / "results" / "raw.jsonl"
        if not raw.is_file():
            sys.exit(f"the sweep wrote no rows (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        rows = [json.loads(line) for line in raw.read_text().splitlines() if line]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    cells: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        language = row["task_id"].split("/")[0].removeprefix("exercism-")
        cells.setdefault((language, row["route"]), []).append(row["latency"]["wall_ms"] / 1000)
    print(f"import: {imported_s:.1f}s for {sum(len(r.entries) for r in reports)} exercises; "
          f"sweep: {len(rows)} cells in {sweep_s:.1f}s (the session's own reference check included)")
    base = statistics.median(cells[("python", "oracle")]) if ("python", "oracle") in cells else None
    print(f"{'language':<11} {'check/exercise (median, range)':>31} {'oracle cell':>22} {'null cell':>22} "
          f"{'oracle vs python':>17}")
    for language in validated:
        oracle, null = cells[(language, "oracle")], cells[(language, "null")]
        ratio = f"{statistics.median(oracle) / base:16.1f}x" if base else ""
        print(f"{language:<11} {spread(checks[language]):>31} {spread(oracle):>22} {spread(null):>22} {ratio}")
    for row in rows:
        if row["outcome"] != row["expect"]:
            print(f"unexpected: {row['node_id']}: {row['outcome']}: {row['error']}")
    for r in reports:
        if r.language not in validated:
            print(f"{r.language:<11} left out: {r.entries[0].reason if r.entries else r.language_skipped}")


if __name__ == "__main__":
    main()

"""What the clean scoring environment and the report cross-checks cost per scoring run:
``score()`` as it stands against ``score()`` as it was at ``--before`` (the scorer that ran the
harness's own interpreter with site, no planted tests, no pristine collection), on one task's
oracle solution. Interleaved runs in one process; medians. The one-time costs (building the env,
checking it once per process, collecting the pristine tests once per task) are timed apart.

    python benchmarks/scoring_overhead.py [--task tasks/puzzles/grep] [--runs 20] [--before REV]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_arena.cell import provenance
from pytest_arena.sandbox.run import Limits, sandbox_kind
from pytest_arena.scoring import env as scoring_env
from pytest_arena.scoring import score as scoring
from pytest_arena.tasks.folder import Task, load_task

REPO = Path(__file__).resolve().parent.parent
# The last commit whose scorer had neither the clean env nor the cross-checks.
BEFORE = "619f527"


def scorer_at(rev: str):
    """``pytest_arena/scoring/score.py`` as of ``rev``, importable beside today's package."""
    source = subprocess.run(["git", "show", f"{rev}:pytest_arena/scoring/score.py"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout
    spec = importlib.util.spec_from_loader("pytest_arena._scoring_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "pytest_arena"
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:pytest_arena/scoring/score.py", "exec"), module.__dict__)
    return module


def oracle_workspace(task: Task, folder: Path) -> Path:
    task.materialise(("workspace", "reference", "tests"), folder)
    return folder


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=REPO / "tasks/puzzles/grep")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", default=BEFORE, help=f"git revision of the old scorer (default {BEFORE})")
    args = parser.parse_args()
    task = load_task(args.task)
    before = scorer_at(args.before)
    machine = provenance.collect(sandbox_kind())
    print(f"machine: {machine.cpu}, {machine.cpus} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; python {sys.version.split()[0]}; "
          f"sandbox {sandbox_kind()}")
    with tempfile.TemporaryDirectory(prefix="arena-scoring-overhead-") as scratch_name:
        scratch = Path(scratch_name)
        workspace = oracle_workspace(task, scratch / "oracle")
        build_s, env = timed(scoring_env.prepare, scratch / "envs")
        scoring_env.prepare.cache_clear()
        check_s, _ = timed(scoring_env.prepare, scratch / "envs")
        collect_s, pristine = timed(scoring.pristine_collection, task, env,
                                    Limits(wall_s=task.spec.scoring_timeout_s))
        print(f"task {task.id}: {len(pristine)} tests; one-time: env build {build_s:.2f} s, env check "
              f"once per process {check_s:.2f} s, pristine collection once per task {collect_s:.2f} s")
        times: dict[str, list[float]] = {"before": [], "after": []}
        for i in range(args.runs + 1):  # run 0 warms file caches; not counted
            for name in times:
                out = scratch / f"{name}-{i}" / "scoring"
                if name == "before":
                    elapsed, result = timed(before.score, task, workspace, out)
                else:
                    elapsed, result = timed(scoring.score, task, workspace, out, env=env)
                if result.status != "pass":
                    sys.exit(f"{name}: score() did not pass the oracle solution: {result.reason}")
                if i:
                    times[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:>6} ({args.before if name == 'before' else 'working tree'}): median "
              f"{medians[name] * 1000:7.1f} ms  [{min(values) * 1000:.1f}, {max(values) * 1000:.1f}]  "
              f"over {len(values)} runs")
    added = medians["after"] - medians["before"]
    print(f"added per scoring run: {added * 1000:+.1f} ms ({added / medians['before']:+.1%})")


if __name__ == "__main__":
    main()

"""real-prs cell start-up: the instance environment built cold (pip install of the project's
sdist and its test requirements into a fresh folder) vs warm (the cached folder found by its
content hash), and the per-cell copy of the repository (``copy_tree``: copy-on-write where the
file system has it, else a plain copy). Medians with min-max over runs.

    python benchmarks/realprs_env.py [--runs 5] [--cold-runs 2] [--instance ID ...]

Needs the shipped instances prepared (``python -m pytest_arena setup --tasks real-prs``). The cold
builds go to a temporary root and are removed; they download from PyPI (pip's own cache helps).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pytest_arena.cell.provenance import collect
from pytest_arena.paths import default_install_root
from pytest_arena.sandbox.run import sandbox_kind
from pytest_arena.scoring.env import env_root
from pytest_arena.scoring.env import prepare as prepare_scoring_env
from pytest_arena.sweep.session import SHIPPED_TASKS
from pytest_arena.tasks.realprs.env import build_env
from pytest_arena.tasks.realprs.files import copy_tree
from pytest_arena.tasks.realprs.prepare import real_prs_root
from pytest_arena.tasks.realprs.task import recipe_tasks


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"median {statistics.median(ms):9.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f}, n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=2)
    parser.add_argument("--instance", action="append", default=None)
    args = parser.parse_args()
    install_root = default_install_root().expanduser().resolve()
    store = real_prs_root(install_root)
    base = prepare_scoring_env(env_root(install_root))
    tasks = [t for t in recipe_tasks(SHIPPED_TASKS, store)
             if not args.instance or t.instance.instance_id in args.instance]
    prov = collect(sandbox_kind(), None, "bench")
    print(f"machine: {prov.host} ({prov.cpu}, {prov.cpus} cpus), Python {prov.python}; store {store}")
    scratch = Path(tempfile.mkdtemp(prefix="realprs-bench-", dir=store))
    try:
        for task in tasks:
            name = task.instance.instance_id
            cold = []
            for i in range(args.cold_runs):
                root = scratch / f"cold-{name}-{i}"
                # B023: timed() calls each lambda at once, while the loop's variables are this pass's.
                cold.append(timed(lambda: build_env(task.env_recipe, base, root, task.source_root)))  # noqa: B023
                shutil.rmtree(root)
            build_env(task.env_recipe, base, store, task.source_root)
            warm = [timed(lambda: build_env(task.env_recipe, base, store, task.source_root))  # noqa: B023
                    for _ in range(args.runs)]
            repo = task.ensure_prepared() / "repo"
            size = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
            copies = []
            for i in range(args.runs):
                dest = scratch / f"copy-{name}-{i}"
                dest.mkdir()
                copies.append(timed(lambda: copy_tree(repo, dest)))  # noqa: B023
                shutil.rmtree(dest)
            print(f"{name}  (repository {size / 1e6:.1f} MB)")
            print(f"  env cold   {summary(cold)}")
            print(f"  env warm   {summary(warm)}")
            print(f"  repo copy  {summary(copies)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

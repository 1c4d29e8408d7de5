"""How long the analysis takes, against the original project's way of bootstrapping.

    python benchmarks/stats_bootstrap.py [--repeats 5] [--baseline-resamples 1000] [--coverage]

Workload: 10,000 rows over 100 cells (5 agents x 4 strategies x 5 local models; 25 tasks x 4
seeds per cell). Ours: the full ``run_analysis`` (clustered bootstrap with 10,000 resamples for
pass rate, mean cost and cost per solved task, paired comparisons, re-pricing under every scenario,
all data and Markdown files; charts timed separately). Baseline, in the same process: a plain
pure-Python i.i.d. row bootstrap in the original's style, which re-prices every drawn row on every
resample (run at 1,000 resamples, the original's default). Prints medians and the ratio.

``--coverage`` also prints how often plain and expanded percentile intervals cover the truth on
simulated clustered cells (1,000 simulations each), the figures quoted in stats/intervals.py.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_arena.analysis.analyze import AnalysisOptions, run_analysis  # noqa: E402
from pytest_arena.router.pricing import load_pricing  # noqa: E402

AGENTS = ["aider", "cline", "opencode", "mini-swe-agent", "codex"]
STRATEGIES = ["always-cloud", "always-local", "cascade", "heuristic"]
LOCAL_MODELS = ["qwen3.6:35b", "gemma4:27b", "qwen3-coder:30b", "devstral:24b", "gpt-oss:20b"]
TASKS, SEEDS = 25, 4


def synthetic_rows(seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for agent in AGENTS:
        for local in LOCAL_MODELS:
            for strategy in STRATEGIES:
                cloud_share = {"always-cloud": 1.0, "always-local": 0.0, "cascade": 0.15, "heuristic": 0.4}[strategy]
                for task in range(TASKS):
                    difficulty = rng.random()
                    for s in range(SEEDS):
                        prompt, completion = rng.randrange(5_000, 80_000), rng.randrange(500, 8_000)
                        cp, cc = int(prompt * cloud_share), int(completion * cloud_share)
                        outcome = "pass" if rng.random() < 0.35 + 0.5 * difficulty * (0.6 + cloud_share) else \
                            rng.choice(["fail", "fail", "fail", "timeout", "agent_crash", "infra_error"])
                        rows.append({
                            "task_id": f"real-dev/t{task:02d}", "category": "refactors", "route": agent,
                            "router_strategy": strategy, "seed": 40 + s, "outcome": outcome, "expect": "pass",
                            "cell_key": f"{agent}|{local}|{strategy}|{task}|{s}",
                            "local_model_id": local, "cloud_model_id": "gpt-5.5",
                            "tokens": {"prompt": prompt, "completion": completion, "cached": rng.randrange(0, cp + 1),
                                       "reasoning": 0, "local_prompt": prompt - cp, "local_completion": completion - cc,
                                       "cloud_prompt": cp, "cloud_completion": cc},
                            "latency": {"wall_ms": rng.randrange(20_000, 600_000)},
                            "quality": {"functional_pass": outcome == "pass" if outcome != "infra_error" else None},
                            "routing": {"total_calls": 20, "local_calls": int(20 * (1 - cloud_share)),
                                        "cloud_calls": 20 - int(20 * (1 - cloud_share))},
                            "error": None if outcome == "pass" else outcome,
                            "cost_usd": (cp * 5.0 + cc * 30.0) / 1e6,
                            "backend_kinds": {"local": "ollama", "cloud": "openai"},
                        })
    return rows


def original_style_bootstrap(rows: list[dict], resamples: int, scenario: str = "openai-gpt5.5") -> dict:
    """The original's approach: i.i.d. rows, pure Python, every drawn row re-priced per resample."""
    table = load_pricing()

    def row_cost(row):
        t = row["tokens"]
        cp, cc = t["cloud_prompt"], t["cloud_completion"]
        if cp == cc == t["local_prompt"] == t["local_completion"] == 0:
            cp, cc = t["prompt"], t["completion"]
        return table.cost(table.scenario_model(scenario), cp, cc, min(t["cached"], cp))

    def metrics(sample):
        graded = [r["quality"]["functional_pass"] for r in sample if r["quality"]["functional_pass"] is not None]
        cloud = sum(r["tokens"]["cloud_prompt"] + r["tokens"]["cloud_completion"] for r in sample)
        split = cloud + sum(r["tokens"]["local_prompt"] + r["tokens"]["local_completion"] for r in sample)
        return (sum(graded) / len(graded) if graded else None, statistics.median(row_cost(r) for r in sample),
                cloud / split if split else None, statistics.median(r["latency"]["wall_ms"] for r in sample))

    rng = random.Random(42)
    cells: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("error") or row["outcome"] == "fail":
            key = "::".join(str(row.get(f)) for f in ("category", "route", "router_strategy", "local_model_id"))
            cells.setdefault(key, []).append(row)
    out = {}
    for key, members in cells.items():
        n = len(members)
        draws = [metrics([members[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples)]
        rates = sorted(d[0] for d in draws if d[0] is not None)
        out[key] = (metrics(members)[0], rates[int(0.025 * (len(rates) - 1))], rates[int(0.975 * (len(rates) - 1))])
    return out


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def coverage_table() -> None:
    import numpy as np

    from pytest_arena.analysis.stats.intervals import (
        expanded_tail,
        ratio_replicates,
        resample_counts,
        wilson_interval,
    )

    print("\ncoverage of the 95% interval, 1,000 simulated cells each (tasks x 3 seeds, task p ~ Beta(2.1, 0.9)):")
    print(f"{'tasks':>6} {'plain percentile':>17} {'expanded (ours)':>16}")
    for n_tasks in (8, 10, 20, 30, 60):
        hits = {"plain": 0, "expanded": 0}
        rng = np.random.default_rng(n_tasks)
        for _ in range(1000):
            passes = rng.binomial(3, rng.beta(2.1, 0.9, size=n_tasks)).astype(float)
            runs = np.full(n_tasks, 3.0)
            replicates = ratio_replicates(resample_counts(n_tasks, 2000, rng), passes, runs)
            point = passes.sum() / runs.sum()
            for name, tail in (("plain", 0.025), ("expanded", expanded_tail(n_tasks))):
                lower, upper = np.quantile(replicates, [tail, 1 - tail])
                if lower == upper:
                    lower, upper = wilson_interval(point, n_tasks)
                hits[name] += lower <= 0.7 <= upper
        print(f"{n_tasks:>6} {hits['plain'] / 1000:>17.3f} {hits['expanded'] / 1000:>16.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-resamples", type=int, default=1000)
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument("--coverage", action="store_true")
    args = parser.parse_args()
    rows = synthetic_rows()
    cells = len({(r["route"], r["router_strategy"], r["local_model_id"]) for r in rows})
    print(f"workload: {len(rows)} rows, {cells} cells, {TASKS} tasks x {SEEDS} seeds per cell")
    with tempfile.TemporaryDirectory() as tmp:
        options = AnalysisOptions(resamples=10_000, charts=False)
        ours = [timed(lambda: run_analysis(rows, Path(tmp) / "a", options)) for _ in range(args.repeats)]
        charts = timed(lambda: run_analysis(rows, Path(tmp) / "c", AnalysisOptions(resamples=10_000)))
    baseline = [timed(lambda: original_style_bootstrap(rows, args.baseline_resamples))
                for _ in range(args.baseline_repeats)]
    ours_median, base_median = statistics.median(ours), statistics.median(baseline)
    print(f"ours, full analysis, 10,000 clustered resamples, no charts: median {ours_median:.2f} s "
          f"over {args.repeats} runs (min {min(ours):.2f}, max {max(ours):.2f}); goal <= 2 s")
    print(f"ours with both charts: {charts:.2f} s (one run)")
    print(f"baseline, original-style pure-Python row bootstrap, {args.baseline_resamples} resamples: "
          f"median {base_median:.2f} s over {args.baseline_repeats} run(s)")
    print(f"ratio baseline / ours: {base_median / ours_median:.1f}x "
          f"(with 10x fewer resamples on the baseline side)")
    if args.coverage:
        coverage_table()


if __name__ == "__main__":
    main()

"""Paired comparisons: a strategy against a baseline on the same (task, seed) pairs.

Within one group (class, agent, local model, cloud model), each strategy is matched with the
baseline (``always-cloud`` and ``always-local``) on the (task, seed) pairs both ran and both
count (``infra_error`` on either side drops the pair). Per pair: d_pass = pass(s) - pass(b) and
d_cost. Δ = mean over pairs; its CI comes from resampling tasks with all their pairs (paired
cluster bootstrap), the same unit as every other interval here.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .intervals import NO_INTERVAL, Interval, TaskResampler, percentile_interval, ratio_replicates
from .observations import CellId, GroupId, Observation

BASELINES = ("always-cloud", "always-local")


@dataclass(slots=True)
class PairedComparison:
    group: GroupId
    strategy: str
    baseline: str
    harness_check: bool
    n_pairs: int
    n_tasks: int
    unmatched: int  # counted rows of either side without a partner
    wins: int  # pairs where the strategy passed and the baseline did not
    ties: int
    losses: int
    delta_pass_rate: Interval
    delta_cost_usd: Interval

    def as_dict(self) -> dict:
        return {
            **self.group.as_dict(), "strategy": self.strategy, "baseline": self.baseline,
            "harness_check": self.harness_check, "n_pairs": self.n_pairs, "n_tasks": self.n_tasks,
            "unmatched_rows": self.unmatched, "wins": self.wins, "ties": self.ties, "losses": self.losses,
            "delta_pass_rate": self.delta_pass_rate.as_dict(), "delta_cost_usd": self.delta_cost_usd.as_dict(),
        }


def _delta_interval(point: float, n_tasks: int, replicates: np.ndarray) -> Interval:
    bounds = percentile_interval(replicates, n_tasks)
    if bounds is None:
        return Interval(point, None, None, "none")
    method = "paired-cluster-bootstrap" if bounds[0] != bounds[1] else "degenerate: every resample equal"
    return Interval(point, bounds[0], bounds[1], method)


def compare(strategy_rows: list[Observation], baseline_rows: list[Observation], group: GroupId,
            strategy: str, baseline: str, resampler: TaskResampler) -> PairedComparison:
    ours = {(o.task_id, o.seed_key): o for o in strategy_rows if o.counted}
    theirs = {(o.task_id, o.seed_key): o for o in baseline_rows if o.counted}
    keys = sorted(ours.keys() & theirs.keys())
    per_task: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # pairs, d_pass, d_cost
    wins = ties = losses = 0
    for key in keys:
        a, b = ours[key], theirs[key]
        d_pass = int(a.passed) - int(b.passed)
        wins += d_pass > 0
        losses += d_pass < 0
        ties += d_pass == 0
        sums = per_task[key[0]]
        sums[0] += 1
        sums[1] += d_pass
        sums[2] += a.cost_usd - b.cost_usd
    harness = any(o.harness_check for o in strategy_rows + baseline_rows)
    if keys:
        table = np.array([per_task[t] for t in sorted(per_task)])
        counts = resampler.counts(len(table))
        delta_pass = _delta_interval(table[:, 1].sum() / len(keys), len(table), ratio_replicates(counts, table[:, 1], table[:, 0]))
        delta_cost = _delta_interval(table[:, 2].sum() / len(keys), len(table), ratio_replicates(counts, table[:, 2], table[:, 0]))
    else:
        delta_pass = delta_cost = NO_INTERVAL
    return PairedComparison(
        group=group, strategy=strategy, baseline=baseline, harness_check=harness,
        n_pairs=len(keys), n_tasks=len(per_task), unmatched=len(ours) + len(theirs) - 2 * len(keys),
        wins=wins, ties=ties, losses=losses, delta_pass_rate=delta_pass, delta_cost_usd=delta_cost)


def paired_comparisons(cells: dict[CellId, list[Observation]], resampler: TaskResampler) -> list[PairedComparison]:
    """Every strategy against each baseline present in its group."""
    groups: dict[GroupId, dict[str, list[Observation]]] = defaultdict(dict)
    for cell, rows in cells.items():
        groups[cell.group][cell.strategy] = rows
    results = []
    for group in sorted(groups):
        strategies = groups[group]
        for baseline in BASELINES:
            if baseline not in strategies:
                continue
            for strategy in sorted(strategies):
                if strategy != baseline:
                    results.append(compare(strategies[strategy], strategies[baseline], group,
                                           strategy, baseline, resampler))
    return results

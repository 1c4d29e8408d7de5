"""Paired comparisons: a strategy against a baseline on the same (task, seed) pairs.

Within one group (class, agent, local model, cloud model), each strategy is matched with the
baseline (``always-cloud`` and ``always-local``) on the (task, seed) pairs both ran and both
count (``infra_error`` on either side drops the pair). Per pair: d_pass = pass(s) - pass(b) and
d_cost. Δ = mean over pairs; its CI comes from resampling tasks with all their pairs (paired
cluster bootstrap), the same unit as every other interval here. With fewer than
``MIN_TASKS`` tasks a comparison gives its point and says "too few pairs" instead of an interval.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import numpy as np

from pytest_arena.analysis.stats.intervals import (
    MIN_TASKS,
    NO_INTERVAL,
    Interval,
    TaskResampler,
    percentile_interval,
    ratio_replicates,
    wilson_difference,
)
from pytest_arena.analysis.stats.observations import CellId, GroupId, Observation
from pytest_arena.analysis.stats.power import ComparisonPower, TaskPairs, power_of

BASELINES = ("always-cloud", "always-local")


@dataclass(slots=True)
class PairedDelta:
    """Ours minus theirs over matched pairs (the arithmetic both strategy comparisons and run
    comparisons use)."""

    n_pairs: int
    n_tasks: int
    unmatched: int  # counted rows of either side without a partner
    wins: int  # pairs where ours passed and theirs did not
    ties: int
    losses: int
    delta_pass_rate: Interval
    delta_cost_usd: Interval
    note: str | None  # why there is no interval ("too few pairs ..."), else None
    power: ComparisonPower  # what these pairs could detect (stats/power.py)

    def as_dict(self) -> dict[str, Any]:
        return {"n_pairs": self.n_pairs, "n_tasks": self.n_tasks, "unmatched_rows": self.unmatched,
                "wins": self.wins, "ties": self.ties, "losses": self.losses,
                "delta_pass_rate": self.delta_pass_rate.as_dict(), "delta_cost_usd": self.delta_cost_usd.as_dict(),
                "note": self.note, "power": self.power.as_dict()}


@dataclass(slots=True)
class PairedComparison(PairedDelta):
    group: GroupId
    strategy: str
    baseline: str
    harness_check: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.group.as_dict(), "strategy": self.strategy, "baseline": self.baseline,
                "harness_check": self.harness_check, **PairedDelta.as_dict(self)}


def too_few_note(n_pairs: int, n_tasks: int) -> str:
    return (f"too few pairs (n={n_pairs} on {n_tasks} task{'s' if n_tasks != 1 else ''}; "
            f"an interval needs at least {MIN_TASKS} tasks)")


def _delta_interval(point: float, n_tasks: int, replicates: np.ndarray) -> Interval:
    bounds = percentile_interval(replicates, n_tasks)
    if bounds is None:
        return Interval(point, None, None, "none")
    method = "paired-cluster-bootstrap" if bounds[0] != bounds[1] else "degenerate: every resample equal"
    return Interval(point, bounds[0], bounds[1], method)


_Key = TypeVar("_Key", bound=tuple[str, ...])


def paired_delta(ours: dict[_Key, Observation], theirs: dict[_Key, Observation],
                 resampler: TaskResampler) -> PairedDelta:
    """Δ = mean over matched pairs of (ours - theirs), pass and cost. Keys are tuples whose first
    element is the task: the cluster the bootstrap resamples, all of a task's pairs together.

    Fewer than MIN_TASKS tasks: the point only, with a note. Where every resample gives the same
    pass-rate Δ (e.g. five tasks, every pair a loss) the bootstrap says nothing about the spread:
    the Wilson square-and-add interval of the two pass rates with n = tasks stands in.
    """
    keys = sorted(ours.keys() & theirs.keys())
    # per task: pairs, d_pass, d_cost, ours passed, d_pass squared
    per_task: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0])
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
        sums[3] += a.passed
        sums[4] += d_pass * d_pass
    n_tasks, note = len(per_task), None
    if not keys:
        delta_pass = delta_cost = NO_INTERVAL
    else:
        table = np.array([per_task[t] for t in sorted(per_task)])
        pass_point, cost_point = table[:, 1].sum() / len(keys), table[:, 2].sum() / len(keys)
        if n_tasks < MIN_TASKS:
            note = too_few_note(len(keys), n_tasks)
            delta_pass, delta_cost = Interval(pass_point, None, None, "none"), Interval(cost_point, None, None, "none")
        else:
            counts = resampler.counts(n_tasks)
            delta_pass = _delta_interval(pass_point, n_tasks, ratio_replicates(counts, table[:, 1], table[:, 0]))
            delta_cost = _delta_interval(cost_point, n_tasks, ratio_replicates(counts, table[:, 2], table[:, 0]))
            if delta_pass.lower is not None and delta_pass.lower == delta_pass.upper:
                ours_rate = table[:, 3].sum() / len(keys)
                lower, upper = wilson_difference(ours_rate, ours_rate - pass_point, n_tasks)
                delta_pass = Interval(pass_point, lower, upper, "wilson-difference")
    power = power_of([TaskPairs(int(s[0]), s[1], s[4]) for s in per_task.values()])
    return PairedDelta(n_pairs=len(keys), n_tasks=n_tasks, unmatched=len(ours) + len(theirs) - 2 * len(keys),
                       wins=wins, ties=ties, losses=losses, delta_pass_rate=delta_pass, delta_cost_usd=delta_cost,
                       note=note, power=power)


def compare(strategy_rows: list[Observation], baseline_rows: list[Observation], group: GroupId,
            strategy: str, baseline: str, resampler: TaskResampler) -> PairedComparison:
    ours = {(o.task_id, o.seed_key): o for o in strategy_rows if o.counted}
    theirs = {(o.task_id, o.seed_key): o for o in baseline_rows if o.counted}
    harness = any(o.harness_check for o in strategy_rows + baseline_rows)
    delta = paired_delta(ours, theirs, resampler)
    return PairedComparison(**{f.name: getattr(delta, f.name) for f in fields(PairedDelta)},
                            group=group, strategy=strategy, baseline=baseline, harness_check=harness)


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

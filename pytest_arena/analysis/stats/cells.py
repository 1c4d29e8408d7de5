"""Per-cell statistics: counts, pass rate with a task-clustered CI, cost, cloud fraction, wall time.

Cost, cloud fraction and wall time are taken over the rows that count in the pass rate (every
outcome but ``infra_error``), so "cost per task" and "pass rate" describe the same runs;
``infra_error`` rows are counted and shown in ``outcomes``.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from pytest_arena.analysis.stats.intervals import (
    NO_INTERVAL,
    Interval,
    TaskResampler,
    pass_rate_interval,
    ratio_interval,
    ratio_replicates,
)
from pytest_arena.analysis.stats.observations import CellId, Observation
from pytest_arena.outcomes import Outcome

OUTCOME_ORDER = [o.value for o in Outcome]


@dataclass(slots=True)
class TaskTally:
    runs: int = 0  # counted rows (not infra_error)
    passes: int = 0
    cost: float = 0.0


@dataclass(slots=True)
class CellStats:
    cell: CellId
    harness_check: bool
    n_unsandboxed: int  # rows whose agent or tests ran without the full sandbox (reports mark them)
    n_rows: int  # every row kept (after superseding), infra_error included
    n_counted: int  # rows in the pass-rate denominator
    n_tasks: int
    seeds: list[str]
    outcomes: dict[str, int]
    passes: int
    as_expected: int  # counted rows whose pass/fail matches the row's `expect`
    pass_rate: Interval
    cost_mean: Interval  # USD per task run
    cost_per_solved: Interval  # USD spent / tasks solved (ratio estimator)
    cost_median: float | None
    cost_total: float
    cost_source: str  # "ledger" | "repriced:<scenario>" | "mixed"
    cloud_fraction_tokens: float | None
    cloud_fraction_calls: float | None
    wall_ms_median: float | None
    per_task: dict[str, TaskTally] = field(default_factory=dict)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)


def _seed_sort_key(seed: str) -> tuple[int, int, str]:
    return (0, int(seed), "") if seed.lstrip("-").isdigit() else (1, 0, seed)


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def cell_statistics(cell: CellId, observations: list[Observation], resampler: TaskResampler,
                    primary_scenario: str) -> CellStats:
    counted = [o for o in observations if o.counted]
    tallies: dict[str, TaskTally] = defaultdict(TaskTally)
    for obs in counted:
        tally = tallies[obs.task_id]
        tally.runs += 1
        tally.passes += obs.passed
        tally.cost += obs.cost_usd
    tasks = sorted(tallies)
    passes = sum(t.passes for t in tallies.values())
    cost_total = sum(o.cost_usd for o in counted)
    n = len(counted)

    if tasks:
        runs_t = np.array([tallies[t].runs for t in tasks], dtype=float)
        passes_t = np.array([tallies[t].passes for t in tasks], dtype=float)
        cost_t = np.array([tallies[t].cost for t in tasks], dtype=float)
        counts = resampler.counts(len(tasks))
        pass_rate = pass_rate_interval(passes / n, len(tasks), ratio_replicates(counts, passes_t, runs_t))
        cost_mean = ratio_interval(cost_total / n, len(tasks), ratio_replicates(counts, cost_t, runs_t))
        cost_per_solved = ratio_interval(cost_total / passes if passes else None, len(tasks),
                                         ratio_replicates(counts, cost_t, passes_t))
    else:
        pass_rate = cost_mean = cost_per_solved = NO_INTERVAL

    cloud_tokens = sum(o.tokens.cloud_total for o in counted)
    all_tokens = cloud_tokens + sum(o.tokens.local_total for o in counted)
    total_calls = sum(o.total_calls for o in counted)
    ledger = {o.ledger_cost_usd is not None for o in counted}
    cost_source = "mixed" if len(ledger) > 1 else ("ledger" if ledger == {True} else f"repriced:{primary_scenario}")
    outcome_counts = Counter(o.outcome for o in observations)
    return CellStats(
        cell=cell,
        harness_check=any(o.harness_check for o in observations),
        n_unsandboxed=sum(o.unsandboxed for o in observations),
        n_rows=len(observations), n_counted=n, n_tasks=len(tasks),
        seeds=sorted({o.seed_key for o in observations}, key=_seed_sort_key),
        outcomes={name: outcome_counts.get(name, 0) for name in OUTCOME_ORDER},
        passes=passes,
        as_expected=sum(o.passed == (o.expect == "pass") for o in counted),
        pass_rate=pass_rate, cost_mean=cost_mean, cost_per_solved=cost_per_solved,
        cost_median=_median([o.cost_usd for o in counted]), cost_total=cost_total, cost_source=cost_source,
        cloud_fraction_tokens=cloud_tokens / all_tokens if all_tokens else None,
        cloud_fraction_calls=sum(o.cloud_calls for o in counted) / total_calls if total_calls else None,
        wall_ms_median=_median([o.wall_ms for o in counted if o.wall_ms is not None]),
        per_task=dict(tallies),
    )


def group_by_cell(observations: list[Observation]) -> dict[CellId, list[Observation]]:
    cells: dict[CellId, list[Observation]] = defaultdict(list)
    for obs in observations:
        cells[obs.cell].append(obs)
    return dict(sorted(cells.items()))

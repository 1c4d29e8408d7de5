"""Power of a paired strategy comparison: how many tasks a sweep needs to detect a difference in
pass rate, and what the comparisons it made could have detected.

The design is the one every paired interval here uses (``paired.paired_delta``): two strategies on
the same (task, seed) pairs, d = pass(A) − pass(B) per pair, Δ = the mean over pairs, its interval
from resampling *tasks* with all their pairs. With n tasks and m seeds (pairs) per task,

    Var(Δ̂) ≈ (σ²_between + σ²_within / m) / n

where σ²_between is the variance over tasks of a task's true difference and σ²_within the variance
of one pair's d around its task's difference (seed-to-seed noise). More seeds shrink only the
second term: the gain from seeds is large when runs of one task disagree often, and nil when a task
is simply solved or not.

The expanded percentile interval the analysis reports is, for a mean of task-level differences,
the Student-t interval Δ̂ ± t_{0.975, n−1} · s/√n (the expansion √(n/(n−1)) undoes the bootstrap's
(n−1)/n variance), so the power to detect a true Δ at n tasks is taken as

    power ≈ Φ(|Δ|/SE − t_{0.975, n−1}) + Φ(−|Δ|/SE − t_{0.975, n−1}),   SE = √(Var(Δ̂))

and the tasks needed are the smallest n (at least ``MIN_TASKS``, below which no interval is given)
with power ≥ 80%. ``tests/stats/test_power.py`` checks this against simulated sweeps analysed by
the real ``paired_delta``.

The variance components come from earlier rows when they hold pairs of the two strategies
(method of moments over per-task sums; tasks with two or more pairs give the within-task part),
otherwise from the stated assumptions below.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

from pytest_arena.analysis.stats.intervals import CONFIDENCE, MIN_TASKS, smallest_n, student_t_quantile

__all__ = [
    "ASSUMED_DISCORDANT",
    "ASSUMED_WITHIN_SHARE",
    "NO_POWER",
    "POWER",
    "REFERENCE_DIFFERENCE",
    "TaskPairs",
    "ComparisonPower",
    "VarianceComponents",
    "achieved_power",
    "assumed_components",
    "estimate_components",
    "minimum_detectable",
    "power_of",
    "tasks_needed",
]

POWER = 0.80
# The difference the report states each comparison's power against (10 percentage points).
REFERENCE_DIFFERENCE = 0.10
# Without earlier rows: the share of pairs on which the two strategies disagree (one passes, the
# other fails): the variance of one pair's difference is about this; and the share of that variance
# which is seed-to-seed noise within a task (the rest is task-to-task).
ASSUMED_DISCORDANT = 0.30
ASSUMED_WITHIN_SHARE = 0.5
_MAX_TASKS = 1_000_000


@dataclass(frozen=True, slots=True)
class TaskPairs:
    """One task's pairs: how many, the sum of d and the sum of d² (d = pass(A) − pass(B))."""

    pairs: int
    sum_d: float
    sum_d2: float


@dataclass(frozen=True, slots=True)
class VarianceComponents:
    between: float  # variance over tasks of a task's true difference in pass rate
    within: float  # variance of one pair's difference around its task's (seed-to-seed)
    source: str  # where they come from, for a reader: "N pairs on T tasks", "assumed: ..."

    def variance(self, seeds: int) -> float:
        """Var of one task's mean difference over ``seeds`` pairs (times n: Var(Δ̂) · n)."""
        return self.between + self.within / max(1, seeds)


def assumed_components(discordant: float = ASSUMED_DISCORDANT,
                       within_share: float = ASSUMED_WITHIN_SHARE) -> VarianceComponents:
    return VarianceComponents(between=discordant * (1 - within_share), within=discordant * within_share,
                              source=f"assumed: the strategies disagree on {discordant:.0%} of pairs, "
                                     f"{within_share:.0%} of that variance seed-to-seed within a task")


def estimate_components(tasks: Iterable[TaskPairs], *,
                        within_share: float = ASSUMED_WITHIN_SHARE) -> VarianceComponents | None:
    """Method-of-moments components from per-task pair sums; None with fewer than ``MIN_TASKS``
    tasks (too few to say anything). Tasks with two or more pairs give the within-task variance
    (the mean of their sample variances); the between-task variance is what the spread of the task
    means leaves after it. With one pair per task only the total is seen, and ``within_share``
    splits it (said in ``source``)."""
    items = [t for t in tasks if t.pairs > 0]
    if len(items) < MIN_TASKS:
        return None
    pairs = sum(t.pairs for t in items)
    means = [t.sum_d / t.pairs for t in items]
    grand = sum(means) / len(means)
    spread = sum((m - grand) ** 2 for m in means) / (len(means) - 1)
    repeated = [t for t in items if t.pairs >= 2]
    where = f"{pairs} earlier pairs on {len(items)} tasks"
    if not repeated:
        within = spread * within_share
        return VarianceComponents(between=spread - within, within=within,
                                  source=f"{where}, one pair per task: the seed-to-seed share is assumed "
                                         f"{within_share:.0%}")
    within = sum((t.sum_d2 - t.sum_d ** 2 / t.pairs) / (t.pairs - 1) for t in repeated) / len(repeated)
    between = max(0.0, spread - sum(within / t.pairs for t in items) / len(items))
    return VarianceComponents(between=between, within=within, source=where)


def _tail(x: float) -> float:
    return NormalDist().cdf(x)


@lru_cache(maxsize=4096)
def _critical(confidence: float, dof: int) -> float:
    """t_{(1+confidence)/2, dof}; past 200 degrees of freedom the Cornish-Fisher expansion about the
    normal quantile (error under 1e-6 there), since the exact CDF costs a loop of dof/2 terms."""
    probability = 0.5 + confidence / 2
    if dof <= 200:
        return student_t_quantile(probability, dof)
    z = NormalDist().inv_cdf(probability)
    return z + (z ** 3 + z) / (4 * dof) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * dof ** 2)


def achieved_power(delta: float, components: VarianceComponents, n_tasks: int, seeds: int,
                   confidence: float = CONFIDENCE) -> float | None:
    """Probability that a comparison of ``n_tasks`` tasks × ``seeds`` pairs gives an interval
    excluding 0 when the true difference is ``delta``; None below ``MIN_TASKS`` (no interval is
    given) or when the components say there is no variance at all."""
    if n_tasks < MIN_TASKS:
        return None
    variance = components.variance(seeds)
    if variance <= 0:
        return None
    se = math.sqrt(variance / n_tasks)
    critical = _critical(confidence, n_tasks - 1)
    shift = abs(delta) / se
    return _tail(shift - critical) + _tail(-shift - critical)


def tasks_needed(delta: float, components: VarianceComponents, seeds: int, power: float = POWER,
                 confidence: float = CONFIDENCE) -> int | None:
    """The fewest tasks (each with ``seeds`` pairs) at which the power to detect ``delta`` reaches
    ``power``; None when ``delta`` is 0 or more than a million tasks would be needed."""
    if delta == 0:
        return None
    if components.variance(seeds) <= 0:  # nothing varies: the fewest tasks that give an interval
        return MIN_TASKS
    return smallest_n(lambda n: (achieved_power(delta, components, n, seeds, confidence) or 0.0) >= power,
                      MIN_TASKS, _MAX_TASKS)


def minimum_detectable(components: VarianceComponents, n_tasks: int, seeds: int, power: float = POWER,
                       confidence: float = CONFIDENCE) -> float | None:
    """The smallest difference in pass rate (0–1) that ``n_tasks`` × ``seeds`` detect with
    ``power``; None below ``MIN_TASKS`` tasks, or when even a difference of 1 would not be."""
    if n_tasks < MIN_TASKS or components.variance(seeds) <= 0:
        return None
    if (achieved_power(1.0, components, n_tasks, seeds, confidence) or 0.0) < power:
        return None
    low, high = 0.0, 1.0
    for _ in range(40):
        mid = (low + high) / 2
        if (achieved_power(mid, components, n_tasks, seeds, confidence) or 0.0) >= power:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True, slots=True)
class ComparisonPower:
    """What a comparison that was made could detect, from its own pairs' variance."""

    power: float | None  # at REFERENCE_DIFFERENCE
    detectable: float | None  # the smallest difference detected with POWER
    seeds: int  # pairs per task (mean, rounded)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"power_at_10pp": self.power, "detectable_at_80pct": self.detectable, "pairs_per_task": self.seeds}


NO_POWER = ComparisonPower(None, None, 0)


def power_of(tasks: list[TaskPairs]) -> ComparisonPower:
    """The achieved power of a comparison made on these tasks' pairs (not at its observed
    difference, which says nothing new, but at ``REFERENCE_DIFFERENCE``), and the smallest
    difference it could detect with ``POWER``; nothing below ``MIN_TASKS`` tasks."""
    components = estimate_components(tasks)
    if components is None:
        return NO_POWER
    seeds = max(1, round(sum(t.pairs for t in tasks) / len(tasks)))
    return ComparisonPower(achieved_power(REFERENCE_DIFFERENCE, components, len(tasks), seeds),
                           minimum_detectable(components, len(tasks), seeds), seeds)

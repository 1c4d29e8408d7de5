"""Router metrics per group (class, agent, local model, cloud model): quality gap recovered,
cost relative to always-cloud, the Pareto frontier of (mean cost, pass rate), and the
recommended strategy.

A recommendation needs evidence: at least MIN_TASKS tasks, and a cheaper pick no more than
TOLERANCE below the best (``evidence_gap``); otherwise the verdict is "not enough evidence" with
about how many more tasks would decide.

Cost here is the mean cost per task run (total spend / runs): it adds up to a budget, which the
median does not.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pytest_arena.analysis.stats.cells import CellStats
from pytest_arena.analysis.stats.formatting import pass_with_ci, usd
from pytest_arena.analysis.stats.intervals import MIN_TASKS, tasks_to_separate
from pytest_arena.analysis.stats.observations import GroupId

CLOUD, LOCAL = "always-cloud", "always-local"


@dataclass(slots=True)
class StrategyMetrics:
    strategy: str
    gap_recovered: float | None  # (pass(s) - pass(local)) / (pass(cloud) - pass(local))
    cost_relative_to_cloud: float | None  # mean cost(s) / mean cost(always-cloud)
    on_frontier: bool


RECOMMEND, NOT_ENOUGH, NO_VERDICT = "recommend", "not enough evidence", "none"
# A cheaper strategy whose interval overlaps the best's counts as "as good" only when its observed
# pass rate is at most this far below the best's; a wider gap that the intervals cannot resolve
# yet is a lack of evidence, not a tie.
TOLERANCE = 0.10


@dataclass(slots=True)
class Recommendation:
    group: GroupId
    strategy: str | None  # the pick; None unless verdict is "recommend"
    best: str | None
    candidates: list[str]  # strategies whose pass-rate CI overlaps the best's
    reason: str
    harness_check: bool
    verdict: str = NO_VERDICT  # "recommend" | "not enough evidence" | "none" (harness check, no counted run)
    more_needed: int | None = None  # with "not enough evidence": about how many more tasks per strategy


def group_cells(cells: list[CellStats]) -> dict[GroupId, dict[str, CellStats]]:
    groups: dict[GroupId, dict[str, CellStats]] = defaultdict(dict)
    for stats in cells:
        groups[stats.cell.group][stats.cell.strategy] = stats
    return {g: dict(sorted(groups[g].items())) for g in sorted(groups)}


def _point(stats: CellStats | None) -> float | None:
    return None if stats is None else stats.pass_rate.point


def pareto_frontier(strategies: dict[str, CellStats]) -> set[str]:
    """Strategies no other strategy beats on both axes (cheaper-or-equal and at-least-as-good,
    strictly better on one)."""
    points = {s: (c.cost_mean.point, c.pass_rate.point) for s, c in strategies.items()
              if c.cost_mean.point is not None and c.pass_rate.point is not None}
    frontier = set()
    for name, (cost, rate) in points.items():
        dominated = any(
            other_cost <= cost and other_rate >= rate and (other_cost < cost or other_rate > rate)
            for other, (other_cost, other_rate) in points.items() if other != name)
        if not dominated:
            frontier.add(name)
    return frontier


def strategy_metrics(strategies: dict[str, CellStats]) -> dict[str, StrategyMetrics]:
    cloud, local = _point(strategies.get(CLOUD)), _point(strategies.get(LOCAL))
    cloud_cost = strategies[CLOUD].cost_mean.point if CLOUD in strategies else None
    frontier = pareto_frontier(strategies)
    metrics = {}
    for name, stats in strategies.items():
        rate, cost = stats.pass_rate.point, stats.cost_mean.point
        gap = None
        if cloud is not None and local is not None and rate is not None and cloud != local:
            gap = (rate - local) / (cloud - local)
        relative = cost / cloud_cost if cost is not None and cloud_cost else None
        metrics[name] = StrategyMetrics(name, gap, relative, name in frontier)
    return metrics


def _rate(stats: CellStats) -> float:
    """The observed pass rate of a strategy with counted runs (``recommend`` rates only those)."""
    rate = stats.pass_rate.point
    assert rate is not None
    return rate


def evidence_gap(best: CellStats, cheaper: CellStats | None) -> tuple[int | None, int | None]:
    """(about how many more tasks are needed, tasks at which the two would separate), or
    (None, None) when the data can decide. ``cheaper`` is the cheapest strategy whose interval
    overlaps the best's (None: the best is the pick).

    Fewer than MIN_TASKS tasks never decide. A cheaper strategy more than TOLERANCE below the best
    (observed pass rates) overlaps only because the intervals are wide: how many tasks would tell
    the two apart is n* = the smallest number of tasks at which Wilson intervals (n = tasks) at the
    two observed rates stop overlapping (``tasks_to_separate``); about n* - n more are needed.
    """
    n = best.n_tasks if cheaper is None else min(best.n_tasks, cheaper.n_tasks)
    gap = 0.0 if cheaper is None else _rate(best) - _rate(cheaper)
    wide = gap > TOLERANCE + 1e-9  # a gap of exactly TOLERANCE is within it
    if n >= MIN_TASKS and not wide:
        return None, None
    separate = tasks_to_separate(_rate(best), _rate(cheaper)) if wide and cheaper is not None else None
    needed = max(MIN_TASKS - n, (separate or 0) - n, 1)
    return needed, separate


def recommend(group: GroupId, strategies: dict[str, CellStats]) -> Recommendation:
    """The cheapest strategy whose pass-rate CI overlaps the best strategy's CI, when the data can
    tell; else "not enough evidence" with about how many more tasks it takes (``evidence_gap``)."""
    harness = any(s.harness_check for s in strategies.values())
    rated = {n: s for n, s in strategies.items() if s.pass_rate.point is not None}
    if harness:
        return Recommendation(group, None, None, [], "harness check: not a model result, no recommendation", True)
    if not rated:
        return Recommendation(group, None, None, [], "no strategy has a counted run", False)

    def cost(name: str) -> float:
        value = rated[name].cost_mean.point
        return float("inf") if value is None else value

    best = min(rated, key=lambda n: (-_rate(rated[n]), cost(n), n))
    candidates = sorted(n for n in rated if rated[n].pass_rate.overlaps(rated[best].pass_rate) or n == best)
    chosen = min(candidates, key=lambda n: (cost(n), -_rate(rated[n]), n))
    best_text = f"{best} {pass_with_ci(rated[best].pass_rate)} at {usd(rated[best].cost_mean.point)}/task"
    more, separate = evidence_gap(rated[best], None if chosen == best else rated[chosen])
    if more is not None:
        tasks = min(rated[best].n_tasks, rated[chosen].n_tasks)
        if separate is not None:
            why = (f"{chosen} {pass_with_ci(rated[chosen].pass_rate)} is cheaper and its interval overlaps "
                   f"{best_text}, but more than {100 * TOLERANCE:.0f} pp lower; at the observed rates about "
                   f"{separate} tasks per strategy would tell whether the gap is real ({tasks} so far)")
        else:
            why = f"{tasks} task(s) so far; a recommendation needs at least {MIN_TASKS} per strategy ({best_text})"
        reason = f"{NOT_ENOUGH}: need about {more} more task{'s' if more != 1 else ''} — {why}"
        return Recommendation(group, None, best, candidates, reason, False, NOT_ENOUGH, more)
    if len(rated) == 1:
        reason = f"{best} is the only strategy with counted runs in this group ({best_text})"
    elif chosen == best:
        if len(candidates) == 1:
            reason = f"{best} has the highest pass rate and no other strategy's 95% CI overlaps it ({best_text})"
        else:
            reason = (f"{best} has the highest pass rate and is also the cheapest of the "
                      f"{len(candidates)} strategies whose 95% CI overlaps it ({best_text})")
    else:
        reason = (f"{chosen} ({pass_with_ci(rated[chosen].pass_rate)}, "
                  f"{usd(rated[chosen].cost_mean.point)}/task) is the "
                  f"cheapest of the {len(candidates)} strategies whose 95% CI overlaps the best's, {best_text}")
    return Recommendation(group, chosen, best, candidates, reason, False, RECOMMEND)

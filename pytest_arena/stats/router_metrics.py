"""Router metrics per group (class, agent, local model, cloud model): quality gap recovered,
cost relative to always-cloud, the Pareto frontier of (mean cost, pass rate), and the
recommended strategy.

Cost here is the mean cost per task run (total spend / runs): it adds up to a budget, which the
median does not.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .cells import CellStats
from .formatting import pass_with_ci, usd
from .observations import GroupId

CLOUD, LOCAL = "always-cloud", "always-local"


@dataclass(slots=True)
class StrategyMetrics:
    strategy: str
    gap_recovered: float | None  # (pass(s) - pass(local)) / (pass(cloud) - pass(local))
    cost_relative_to_cloud: float | None  # mean cost(s) / mean cost(always-cloud)
    on_frontier: bool


@dataclass(slots=True)
class Recommendation:
    group: GroupId
    strategy: str | None
    best: str | None
    candidates: list[str]  # strategies whose pass-rate CI overlaps the best's
    reason: str
    harness_check: bool


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
        if None not in (cloud, local, rate) and cloud != local:
            gap = (rate - local) / (cloud - local)
        relative = cost / cloud_cost if cost is not None and cloud_cost else None
        metrics[name] = StrategyMetrics(name, gap, relative, name in frontier)
    return metrics


def recommend(group: GroupId, strategies: dict[str, CellStats]) -> Recommendation:
    """The cheapest strategy whose pass-rate CI overlaps the best strategy's CI."""
    harness = any(s.harness_check for s in strategies.values())
    rated = {n: s for n, s in strategies.items() if s.pass_rate.point is not None}
    if harness:
        return Recommendation(group, None, None, [], "harness check: not a model result, no recommendation", True)
    if not rated:
        return Recommendation(group, None, None, [], "no strategy has a counted run", False)

    def cost(name: str) -> float:
        value = rated[name].cost_mean.point
        return float("inf") if value is None else value

    best = min(rated, key=lambda n: (-rated[n].pass_rate.point, cost(n), n))
    candidates = sorted(n for n in rated if rated[n].pass_rate.overlaps(rated[best].pass_rate) or n == best)
    chosen = min(candidates, key=lambda n: (cost(n), -rated[n].pass_rate.point, n))
    best_text = f"{best} {pass_with_ci(rated[best].pass_rate)} at {usd(rated[best].cost_mean.point)}/task"
    if len(rated) == 1:
        reason = f"{best} is the only strategy with counted runs in this group ({best_text})"
    elif chosen == best:
        if len(candidates) == 1:
            reason = f"{best} has the highest pass rate and no other strategy's 95% CI overlaps it ({best_text})"
        else:
            reason = (f"{best} has the highest pass rate and is also the cheapest of the "
                      f"{len(candidates)} strategies whose 95% CI overlaps it ({best_text})")
    else:
        reason = (f"{chosen} ({pass_with_ci(rated[chosen].pass_rate)}, {usd(rated[chosen].cost_mean.point)}/task) is the "
                  f"cheapest of the {len(candidates)} strategies whose 95% CI overlaps the best's, {best_text}")
    return Recommendation(group, chosen, best, candidates, reason, False)

"""The cost–quality curve of a group (class, agent, local model, cloud model), RouteLLM-style.

Every operating point (a strategy, or one swept parameter value of it: ``cascade@threshold=15``)
is a point: pass rate against cloud-token share and against mean cost per run. From them:

- **PGR** (performance gap recovered) of a point: (pass(s) − pass(always-local)) /
  (pass(always-cloud) − pass(always-local)); undefined without both anchors or when they tie.
- A strategy **family** (all operating points of one strategy name) draws a curve: its points'
  (cloud share, PGR), plus the anchors (0, 0) for always-local and (1, 1) for always-cloud, sorted
  by cloud share and joined by straight lines.
- **APGR**: the area under that curve over cloud share 0..1 (trapezoids). 0.5 = no better than
  mixing the anchors at random; 1 = the whole gap recovered at no cloud share.
- **CPT(x)**: the cloud share at which the curve first reaches PGR = x (linear between points).
- **Oracle router**: per (task, seed), the cheapest counted run that passed among all operating
  points of the group (none passed: the cheapest run); its pass rate, cost and cloud share, and
  each point's gap to it (point − oracle).
- **Pareto frontier**: points no other point beats on both axes (at most as much cloud share or
  cost, at least the pass rate, strictly better in one).

Intervals: every statistic is recomputed on the same task resamples (``TaskResampler``: tasks
drawn with replacement, all seeds of a drawn task carried along), so anchors, points and oracle
move together; resamples where a statistic is undefined (e.g. the anchors tie) are left out.
Only counted runs (every outcome but ``infra_error``) enter.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pytest_arena.analysis.stats.intervals import (
    NO_INTERVAL,
    Interval,
    TaskResampler,
    pass_rate_interval,
    percentile_interval,
    ratio_interval,
    ratio_replicates,
)
from pytest_arena.analysis.stats.observations import CellId, GroupId, Observation

LOCAL_ANCHOR, CLOUD_ANCHOR = "always-local", "always-cloud"
CPT_LEVELS = (0.5, 0.8)


def family_of(strategy: str) -> str:
    """``cascade@threshold=15`` -> ``cascade``."""
    return strategy.partition("@")[0]


@dataclass(slots=True)
class TaskSums:
    """Per-task sums over counted runs, one array entry per task of the group."""

    runs: np.ndarray
    passes: np.ndarray
    cost: np.ndarray
    cloud_tokens: np.ndarray
    all_tokens: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> TaskSums:
        return cls(*(np.zeros(n) for _ in range(5)))

    def add(self, index: int, obs: Observation) -> None:
        self.runs[index] += 1
        self.passes[index] += obs.passed
        self.cost[index] += obs.cost_usd
        self.cloud_tokens[index] += obs.tokens.cloud_total
        self.all_tokens[index] += obs.tokens.cloud_total + obs.tokens.local_total


def _ratio(top: np.ndarray, bottom: np.ndarray) -> float | None:
    total = bottom.sum()
    return float(top.sum() / total) if total > 0 else None


@dataclass(slots=True)
class PointEstimate:
    """Point values and bootstrap replicates (one per resample) of a point's statistics."""

    pass_rate: float | None
    cloud_share: float | None
    cost_mean: float | None
    cost_per_solved: float | None
    reps_pass: np.ndarray
    reps_share: np.ndarray
    reps_cost: np.ndarray
    reps_per_solved: np.ndarray

    @classmethod
    def of(cls, sums: TaskSums, counts: np.ndarray) -> PointEstimate:
        return cls(_ratio(sums.passes, sums.runs), _ratio(sums.cloud_tokens, sums.all_tokens),
                   _ratio(sums.cost, sums.runs), _ratio(sums.cost, sums.passes),
                   ratio_replicates(counts, sums.passes, sums.runs),
                   ratio_replicates(counts, sums.cloud_tokens, sums.all_tokens),
                   ratio_replicates(counts, sums.cost, sums.runs),
                   ratio_replicates(counts, sums.cost, sums.passes))


@dataclass(slots=True)
class CurvePoint:
    strategy: str
    family: str
    n_runs: int
    n_tasks: int
    pass_rate: Interval
    cloud_share: Interval  # cloud tokens / all tokens
    cost_mean: Interval  # USD per run
    cost_per_solved: Interval  # USD spent / runs passed
    pgr: Interval
    oracle_gap_pass: Interval  # pass(s) − pass(oracle)
    oracle_gap_cost: Interval  # cost(s) − cost(oracle), USD per run
    pareto_share: bool = False
    pareto_cost: bool = False


@dataclass(slots=True)
class FamilyCurve:
    family: str
    points: list[str]  # operating points in cloud-share order
    parametrised: bool  # more than one point, or a point with swept params
    apgr: Interval
    cpt: dict[float, Interval]  # level -> cloud share


@dataclass(slots=True)
class OracleRouter:
    n_units: int  # (task, seed) pairs with at least one counted run
    pass_rate: Interval
    cost_mean: Interval
    cost_per_solved: Interval
    cloud_share: Interval
    picks: dict[str, int]  # operating point -> units where the oracle chose it


@dataclass(slots=True)
class GroupCurve:
    group: GroupId
    harness_check: bool
    tasks: list[str]
    has_anchors: bool
    points: dict[str, CurvePoint]
    oracle: OracleRouter
    families: list[FamilyCurve] = field(default_factory=list)


def _diff_interval(point_a: float | None, point_b: float | None, reps: np.ndarray, n_tasks: int) -> Interval:
    if point_a is None or point_b is None:
        return NO_INTERVAL
    bounds = percentile_interval(reps, n_tasks)
    if bounds is None:
        return Interval(point_a - point_b, None, None, "none")
    return Interval(point_a - point_b, bounds[0], bounds[1], "cluster-bootstrap")


def _interval(point: float | None, reps: np.ndarray, n_tasks: int) -> Interval:
    if point is None or not np.isfinite(point):
        return NO_INTERVAL
    bounds = percentile_interval(reps, n_tasks)
    if bounds is None:
        return Interval(point, None, None, "none")
    return Interval(point, bounds[0], bounds[1], "cluster-bootstrap")


def pgr(quality: np.ndarray, local: np.ndarray, cloud: np.ndarray) -> np.ndarray:
    """Performance gap recovered; NaN where the anchors tie."""
    gap = cloud - local
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(gap) > 1e-12, (quality - local) / np.where(np.abs(gap) > 1e-12, gap, 1), np.nan)


def _with_anchors(shares: np.ndarray, gains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R x k) shares and PGRs -> sorted (R x k+2) curves with (0, 0) and (1, 1) added."""
    rows = shares.shape[0]
    x = np.concatenate([np.zeros((rows, 1)), shares, np.ones((rows, 1))], axis=1)
    y = np.concatenate([np.zeros((rows, 1)), gains, np.ones((rows, 1))], axis=1)
    order = np.lexsort((y, x), axis=1)
    return np.take_along_axis(x, order, axis=1), np.take_along_axis(y, order, axis=1)


def apgr(shares: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Area under the piecewise-linear PGR curve over cloud share 0..1, one value per row."""
    x, y = _with_anchors(shares, gains)
    area = np.sum((x[:, 1:] - x[:, :-1]) * (y[:, 1:] + y[:, :-1]) / 2, axis=1)
    bad = ~np.all(np.isfinite(shares) & np.isfinite(gains), axis=1)
    return np.where(bad, np.nan, area)


def cpt(shares: np.ndarray, gains: np.ndarray, level: float) -> np.ndarray:
    """Cloud share at which the PGR curve first reaches ``level``, one value per row."""
    x, y = _with_anchors(shares, gains)
    reached = y >= level
    j = np.argmax(reached, axis=1)
    rows = np.arange(x.shape[0])
    i = np.maximum(j - 1, 0)
    x_j, y_j, x_i, y_i = x[rows, j], y[rows, j], x[rows, i], y[rows, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(j == 0, x_j, x_i + (level - y_i) * (x_j - x_i) / np.where(y_j > y_i, y_j - y_i, 1))
    bad = ~np.all(np.isfinite(shares) & np.isfinite(gains), axis=1) | ~reached.any(axis=1)
    return np.where(bad, np.nan, crossing)


def _pareto(values: dict[str, tuple[float | None, float | None]]) -> set[str]:
    """Names whose (cost-like, pass rate) no other name dominates."""
    known = {k: (c, q) for k, (c, q) in values.items() if c is not None and q is not None}
    return {name for name, (c, q) in known.items()
            if not any(c2 <= c and q2 >= q and (c2 < c or q2 > q)
                       for other, (c2, q2) in known.items() if other != name)}


def _oracle(units: dict[tuple[str, str], list[tuple[str, Observation]]], task_index: dict[str, int],
            counts: np.ndarray) -> tuple[TaskSums, PointEstimate, dict[str, int]]:
    sums = TaskSums.zeros(len(task_index))
    picks: dict[str, int] = {}
    for (task_id, _seed), runs in sorted(units.items()):
        passed = [r for r in runs if r[1].passed]
        # cheapest passing run; ties go to less cloud traffic, then to the name (deterministic)
        name, chosen = min(passed or runs, key=lambda r: (r[1].cost_usd, r[1].tokens.cloud_total, r[0]))
        sums.add(task_index[task_id], chosen)
        picks[name] = picks.get(name, 0) + 1
    return sums, PointEstimate.of(sums, counts), picks


def group_curve(group: GroupId, cells: dict[str, tuple[CellId, list[Observation]]],
                resampler: TaskResampler) -> GroupCurve:
    """The curve of one group; ``cells`` maps operating point -> (cell, its observations)."""
    counted = {name: [o for o in obs if o.counted] for name, (_, obs) in cells.items()}
    tasks = sorted({o.task_id for obs in counted.values() for o in obs})
    task_index = {t: i for i, t in enumerate(tasks)}
    counts = resampler.counts(len(tasks)) if tasks else np.zeros((resampler.resamples, 0))
    n = len(tasks)
    harness = any(o.harness_check for _, obs in cells.values() for o in obs)

    sums: dict[str, TaskSums] = {}
    units: dict[tuple[str, str], list[tuple[str, Observation]]] = {}
    for name, obs in counted.items():
        sums[name] = TaskSums.zeros(n)
        for o in obs:
            sums[name].add(task_index[o.task_id], o)
            units.setdefault((o.task_id, o.seed_key), []).append((name, o))
    estimates = {name: PointEstimate.of(s, counts) for name, s in sums.items()}
    oracle_sums, oracle, picks = _oracle(units, task_index, counts)

    has_anchors = LOCAL_ANCHOR in estimates and CLOUD_ANCHOR in estimates
    local = estimates.get(LOCAL_ANCHOR)
    cloud = estimates.get(CLOUD_ANCHOR)

    points: dict[str, CurvePoint] = {}
    for name, est in estimates.items():
        if local is not None and cloud is not None and None not in (est.pass_rate, local.pass_rate, cloud.pass_rate):
            point_pgr = float(pgr(np.array(est.pass_rate), np.array(local.pass_rate), np.array(cloud.pass_rate)))
            gain = _interval(point_pgr, pgr(est.reps_pass, local.reps_pass, cloud.reps_pass), n)
        else:
            gain = NO_INTERVAL
        s = sums[name]
        points[name] = CurvePoint(
            strategy=name, family=family_of(name), n_runs=int(s.runs.sum()), n_tasks=int((s.runs > 0).sum()),
            pass_rate=pass_rate_interval(est.pass_rate, int((s.runs > 0).sum()), est.reps_pass),
            cloud_share=ratio_interval(est.cloud_share, n, est.reps_share),
            cost_mean=ratio_interval(est.cost_mean, n, est.reps_cost),
            cost_per_solved=ratio_interval(est.cost_per_solved, n, est.reps_per_solved),
            pgr=gain,
            oracle_gap_pass=_diff_interval(est.pass_rate, oracle.pass_rate, est.reps_pass - oracle.reps_pass, n),
            oracle_gap_cost=_diff_interval(est.cost_mean, oracle.cost_mean, est.reps_cost - oracle.reps_cost, n),
        )
    for name in _pareto({k: (p.cloud_share.point, p.pass_rate.point) for k, p in points.items()}):
        points[name].pareto_share = True
    for name in _pareto({k: (p.cost_mean.point, p.pass_rate.point) for k, p in points.items()}):
        points[name].pareto_cost = True

    oracle_router = OracleRouter(
        n_units=len(units),
        pass_rate=pass_rate_interval(oracle.pass_rate, int((oracle_sums.runs > 0).sum()), oracle.reps_pass),
        cost_mean=ratio_interval(oracle.cost_mean, n, oracle.reps_cost),
        cost_per_solved=ratio_interval(oracle.cost_per_solved, n, oracle.reps_per_solved),
        cloud_share=ratio_interval(oracle.cloud_share, n, oracle.reps_share),
        picks=dict(sorted(picks.items())))
    curve = GroupCurve(group=group, harness_check=harness, tasks=tasks, has_anchors=has_anchors,
                       points=points, oracle=oracle_router)
    if local is not None and cloud is not None:  # has_anchors
        curve.families = _families(estimates, local, cloud, cells, n)
    return curve


def _families(estimates: dict[str, PointEstimate], local: PointEstimate, cloud: PointEstimate,
              cells: dict[str, tuple[CellId, list[Observation]]], n_tasks: int) -> list[FamilyCurve]:
    if local.pass_rate is None or cloud.pass_rate is None or abs(cloud.pass_rate - local.pass_rate) < 1e-12:
        return []  # no gap to recover: no curve
    by_family: dict[str, list[str]] = {}
    for name in estimates:
        if name not in (LOCAL_ANCHOR, CLOUD_ANCHOR):
            by_family.setdefault(family_of(name), []).append(name)
    families = []
    for family, names in sorted(by_family.items()):
        ests = [estimates[k] for k in names]
        if any(e.pass_rate is None or e.cloud_share is None for e in ests):
            continue
        shares = np.array([[e.cloud_share for e in ests]])
        gains = pgr(np.array([[e.pass_rate for e in ests]]), np.array(local.pass_rate), np.array(cloud.pass_rate))
        rep_shares = np.stack([e.reps_share for e in ests], axis=1)
        rep_gains = pgr(np.stack([e.reps_pass for e in ests], axis=1),
                        local.reps_pass[:, None], cloud.reps_pass[:, None])
        ordered = [names[i] for i in np.lexsort((gains[0], shares[0]))]
        families.append(FamilyCurve(
            family=family, points=ordered, parametrised=len(names) > 1 or "@" in names[0],
            apgr=_interval(float(apgr(shares, gains)[0]), apgr(rep_shares, rep_gains), n_tasks),
            cpt={level: _interval(float(cpt(shares, gains, level)[0]), cpt(rep_shares, rep_gains, level), n_tasks)
                 for level in CPT_LEVELS}))
    return families


def curves(by_cell: dict[CellId, list[Observation]], resampler: TaskResampler) -> list[GroupCurve]:
    """One curve per group (cells without the strategy), in group order."""
    grouped: dict[GroupId, dict[str, tuple[CellId, list[Observation]]]] = {}
    for cell, obs in sorted(by_cell.items()):
        grouped.setdefault(cell.group, {})[cell.strategy] = (cell, obs)
    return [group_curve(group, members, resampler) for group, members in sorted(grouped.items())]

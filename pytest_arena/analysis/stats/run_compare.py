"""Two runs side by side (``analyze A B --compare``): the same cells, measured twice.

A pair is one cell key (task x agent x strategy x local model x cloud model x seed) with a counted
row in both runs (``infra_error`` on either side drops it). Δ = B − A, per pair: pass (−1, 0, +1)
and cost. Per cell (class · agent · strategy · models), per group (all strategies of a class ·
agent · models) and overall, Δ is the mean over pairs with a paired task-clustered bootstrap
interval: tasks resampled with all their pairs (``paired.paired_delta``, the arithmetic the
strategy comparisons use; fewer than MIN_TASKS tasks give no interval and say so).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pytest_arena.analysis.stats.intervals import TaskResampler
from pytest_arena.analysis.stats.observations import CellId, GroupId, Observation
from pytest_arena.analysis.stats.paired import PairedDelta, paired_delta

Key = tuple[str, str, str]  # (task, cell key, seed): the task first, the bootstrap's cluster


@dataclass(slots=True)
class Pair:
    cell: CellId
    task_id: str
    seed_key: str
    a: Observation
    b: Observation

    @property
    def d_pass(self) -> int:
        return int(self.b.passed) - int(self.a.passed)

    def as_dict(self) -> dict[str, Any]:
        return {**self.cell.as_dict(), "task_id": self.task_id, "seed": self.seed_key,
                "outcome_a": self.a.outcome, "outcome_b": self.b.outcome, "delta_pass": self.d_pass,
                "cost_a_usd": self.a.cost_usd, "cost_b_usd": self.b.cost_usd,
                "delta_cost_usd": self.b.cost_usd - self.a.cost_usd,
                "measured_settings_differ": self.a.measured_sha != self.b.measured_sha,
                "agent_version_a": self.a.agent_version, "agent_version_b": self.b.agent_version}

    @property
    def versions_differ(self) -> bool:
        """Both rows name the agent's version, and not the same one."""
        return None not in (self.a.agent_version, self.b.agent_version) and self.a.agent_version != self.b.agent_version


@dataclass(slots=True)
class ScopeDelta:
    scope: str  # "cell" | "group" | "overall"
    title: str
    pass_a: float | None  # pass rate of A over the matched pairs
    pass_b: float | None
    delta: PairedDelta


@dataclass(slots=True)
class RunComparison:
    label_a: str
    label_b: str
    pairs: list[Pair]
    scopes: list[ScopeDelta]
    only_a: int  # counted rows of A with no counted partner in B
    only_b: int


def _key(o: Observation) -> Key:
    return (o.task_id, o.cell.key, o.seed_key)


def _scope(scope: str, title: str, a: dict[Key, Observation], b: dict[Key, Observation],
           resampler: TaskResampler) -> ScopeDelta:
    matched = a.keys() & b.keys()

    def rate(side: dict[Key, Observation]) -> float | None:
        return sum(side[k].passed for k in matched) / len(matched) if matched else None

    return ScopeDelta(scope, title, rate(a), rate(b), paired_delta(b, a, resampler))


def compare_runs(a_obs: list[Observation], b_obs: list[Observation], label_a: str, label_b: str,
                 resampler: TaskResampler) -> RunComparison:
    a = {_key(o): o for o in a_obs if o.counted}
    b = {_key(o): o for o in b_obs if o.counted}
    pairs = [Pair(a[k].cell, k[0], k[2], a[k], b[k]) for k in sorted(a.keys() & b.keys())]
    by_cell: dict[CellId, list[Key]] = defaultdict(list)
    for key in a.keys() | b.keys():
        by_cell[(a.get(key) or b[key]).cell].append(key)
    scopes: list[ScopeDelta] = []
    groups: dict[GroupId, list[CellId]] = defaultdict(list)
    for cell in sorted(by_cell):
        groups[cell.group].append(cell)
    for group, cells in groups.items():
        for cell in cells:
            keys = by_cell[cell]
            scopes.append(_scope("cell", f"{group.title} · {cell.strategy}", {k: a[k] for k in keys if k in a},
                                 {k: b[k] for k in keys if k in b}, resampler))
        if len(cells) > 1:
            keys = [k for cell in cells for k in by_cell[cell]]
            scopes.append(_scope("group", f"{group.title} · all strategies", {k: a[k] for k in keys if k in a},
                                 {k: b[k] for k in keys if k in b}, resampler))
    scopes.append(_scope("overall", "overall", a, b, resampler))
    matched = len(pairs)
    return RunComparison(label_a, label_b, pairs, scopes, only_a=len(a) - matched, only_b=len(b) - matched)

"""The plan of a sweep, before anything runs: cells per axis, projected cloud spend and wall time per
strategy (operating point), and the budget caps that would apply.

    python -m pytest_arena plan CONFIG [--rows PATH]... [--arena-set KEY=VALUE]...
    pytest --arena-config CONFIG --arena-dry-run

A cell's projection comes from earlier rows, in this order: rows of the same cell (its cell key),
else rows of the same task and operating point (any agent or model); the medians of their cloud
prompt, completion and cached tokens are priced with the *current* pricing table for the cell's
cloud model, and the median wall time is used. Without such rows a stated default applies
(``DEFAULT_*`` below). ``infra_error`` rows say nothing about cost and are not used.

The power section says how many tasks a paired comparison of two strategies needs to detect a
difference in pass rate (95% confidence, 80% power; ``analysis/stats/power.py``), and how much more
seeds per task buy, from the variance between and within tasks of earlier pairs of the same two
strategies, or from stated assumptions where there are none.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from pytest_arena.analysis.stats.intervals import MIN_TASKS
from pytest_arena.analysis.stats.power import (
    ASSUMED_DISCORDANT,
    ASSUMED_WITHIN_SHARE,
    POWER,
    REFERENCE_DIFFERENCE,
    TaskPairs,
    VarianceComponents,
    achieved_power,
    assumed_components,
    estimate_components,
    minimum_detectable,
    tasks_needed,
)
from pytest_arena.outcomes import Outcome

if TYPE_CHECKING:
    from pytest_arena.sweep.cells import Cell
    from pytest_arena.sweep.session import ArenaSession

# Defaults for a cell without earlier rows: a fully cloud-routed agent run of this many tokens,
# scaled by the strategy's assumed cloud share; this wall time per LLM cell (non-LLM agents: 10 s).
DEFAULT_PROMPT_TOKENS = 60_000
DEFAULT_COMPLETION_TOKENS = 6_000
DEFAULT_OTHER_SHARE = 0.5  # a strategy that reaches both sides; one that reaches only the cloud: 1, only local: 0
DEFAULT_WALL_S = 180.0
DEFAULT_NON_LLM_WALL_S = 10.0
# The power section: the differences in pass rate it plans for, and the seeds per task it compares.
DEFAULT_DIFFERENCES = (0.05, 0.10, 0.15, 0.20)
SEED_COLUMNS = (1, 2, 3, 5)


@dataclass(frozen=True, slots=True)
class Projection:
    cost_usd: float
    wall_s: float
    source: str  # "cell" | "task" | "default"


def _median_projection(rows: list[dict], model: str, pricing, source: str) -> Projection:
    def median(part: str, key: str) -> float:
        return statistics.median(float((row.get(part) or {}).get(key) or 0) for row in rows)

    prompt, completion = median("tokens", "cloud_prompt"), median("tokens", "cloud_completion")
    cached = min(median("tokens", "cached"), prompt)
    cost = pricing.cost(model, round(prompt), round(completion), round(cached))
    return Projection(cost, median("latency", "wall_ms") / 1000, source)


def _default_projection(cell, model: str, pricing, uses_llm: bool) -> Projection:
    if not uses_llm:
        return Projection(0.0, DEFAULT_NON_LLM_WALL_S, "default")
    from pytest_arena.router.strategies import get_strategy

    sides = get_strategy(cell.strategy).sides
    share = DEFAULT_OTHER_SHARE if len(sides) > 1 else 1.0 if sides == ("cloud",) else 0.0
    cost = pricing.cost(model, round(DEFAULT_PROMPT_TOKENS * share), round(DEFAULT_COMPLETION_TOKENS * share))
    return Projection(cost, DEFAULT_WALL_S, "default")


def project_cells(session: ArenaSession, rows: list[dict]) -> list[tuple[Cell, Projection]]:
    """(cell, projection) for every cell of the session, from ``rows`` (earlier results)."""
    from pytest_arena.agents.registry import get_agent
    from pytest_arena.router.pricing import load_pricing
    from pytest_arena.sweep.pricing import pricing_table_path

    pricing = load_pricing(pricing_table_path(session.config, session.project_root))
    usable = [r for r in rows if isinstance(r, dict) and r.get("outcome") != Outcome.INFRA_ERROR.value]
    by_key: dict[str, list[dict]] = defaultdict(list)
    by_task: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in usable:
        by_key[str(row.get("cell_key"))].append(row)
        by_task[(str(row.get("task_id")), str(row.get("router_strategy")))].append(row)
    price_as = session.services.price_as
    out = []
    for cell in session.cells:
        model = price_as if cell.cloud_model.strip().lower().startswith("scripted") else cell.cloud_model
        uses_llm = get_agent(cell.agent).uses_llm
        if by_key.get(cell.key):
            projection = _median_projection(by_key[cell.key], model, pricing, "cell")
        elif uses_llm and by_task.get((cell.task_id, cell.strategy_point)):
            projection = _median_projection(by_task[(cell.task_id, cell.strategy_point)], model, pricing, "task")
        else:
            projection = _default_projection(cell, model, pricing, uses_llm)
        out.append((cell, projection))
    return out


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def plan_text(session: ArenaSession, rows: list[dict] | None = None,
              differences: tuple[float, ...] = DEFAULT_DIFFERENCES, discordant: float = ASSUMED_DISCORDANT,
              within_share: float = ASSUMED_WITHIN_SHARE) -> str:
    """The printed plan. ``rows`` default to the session's own raw.jsonl (earlier runs of this sweep)."""
    from pytest_arena.jsonl import read_jsonl

    if rows is None:
        rows, _ = read_jsonl(session.store.raw_path)
    cells = session.cells
    config = session.config
    tasks = list(dict.fromkeys(c.task_id for c in cells))
    classes = Counter(session.registry.get(t).task_class for t in tasks)
    points = [p.label for p in config.strategy_points()]
    axes = [
        ("tasks", len(tasks), ", ".join(f"{k} {v}" for k, v in classes.items())),
        ("agents", len(config.benchmark.agents), ", ".join(config.benchmark.agents)),
        ("strategies", len(points), ", ".join(points)),
        ("local models", len(config.models.locals), ", ".join(config.models.locals)),
        ("cloud models", 1, config.models.cloud),
        ("seeds", len(config.benchmark.seeds), ", ".join(map(str, config.benchmark.seeds))),
    ]
    lines = [f"pytest-arena plan for {session.config_path} (nothing runs)", "",
             tabulate([[a, n, v] for a, n, v in axes], headers=["axis", "count", "values"], tablefmt="github"),
             "", f"cells: {len(cells)} (agents without an LLM, e.g. oracle/null, get one cell per task and seed, "
                 f"strategy 'none')", ""]
    projected = project_cells(session, rows)
    per_point: dict[str, list[Projection]] = defaultdict(list)
    for cell, projection in projected:
        per_point[cell.strategy_point].append(projection)
    table = []
    for point, items in per_point.items():
        sources = Counter(p.source for p in items)
        table.append([point, len(items), sources["cell"], sources["task"], sources["default"],
                      f"{sum(p.cost_usd for p in items):.4f}", _hours(sum(p.wall_s for p in items))])
    total_cost = sum(p.cost_usd for _, p in projected)
    total_wall = sum(p.wall_s for _, p in projected)
    table.append(["total", len(projected), "", "", "", f"{total_cost:.4f}", _hours(total_wall)])
    lines += ["projected per strategy (cloud USD priced with the current table; wall time summed over cells, "
              "divide by the xdist workers with -n):",
              tabulate(table, headers=["strategy", "cells", "from same cell", "from same task", "default",
                                       "cloud USD", "wall time"], tablefmt="github", disable_numparse=True),
              "", f"defaults where no earlier row exists: {DEFAULT_PROMPT_TOKENS:,} prompt + "
                  f"{DEFAULT_COMPLETION_TOKENS:,} completion tokens for a fully cloud-routed cell, times the cloud "
                  f"share (always-cloud 1, always-local 0, other strategies {DEFAULT_OTHER_SHARE}); "
                  f"{DEFAULT_WALL_S:.0f} s per LLM cell, {DEFAULT_NON_LLM_WALL_S:.0f} s per non-LLM cell", ""]
    lines += _budget_lines(config, projected, total_cost)
    lines += ["", *power_lines(session, rows, differences, discordant, within_share)]
    return "\n".join(lines)


def _earlier_pairs(rows: list[dict], ours: str, theirs: str) -> list[TaskPairs]:
    """Per task, the earlier pairs of ``ours`` and ``theirs`` on the same task, seed, agent and
    models (the analysis's pairing), counted rows only; rows that do not parse are left out."""
    from pytest_arena.analysis.stats.observations import RowFormatError, observe

    sides: dict[str, dict[tuple[str, ...], bool]] = {ours: {}, theirs: {}}
    for i, row in enumerate(rows):
        try:
            obs = observe(row, f"row {i}")
        except RowFormatError:
            continue
        side = sides.get(obs.cell.strategy)
        if side is not None and obs.counted:
            group = obs.cell.group
            side[(obs.task_id, obs.seed_key, group.task_class, group.agent, group.local_model,
                  group.cloud_model)] = obs.passed
    per_task: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for key in sides[ours].keys() & sides[theirs].keys():
        d = int(sides[ours][key]) - int(sides[theirs][key])
        sums = per_task[key[0]]
        sums[0] += 1
        sums[1] += d
        sums[2] += d * d
    return [TaskPairs(int(n), total, squares) for n, total, squares in per_task.values()]


def _pp(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} pp"


def _config_power(components: VarianceComponents, n_tasks: int, seeds: int) -> str:
    achieved = achieved_power(REFERENCE_DIFFERENCE, components, n_tasks, seeds)
    if achieved is None:
        return f"no interval under {MIN_TASKS} tasks"
    detectable = minimum_detectable(components, n_tasks, seeds)
    return (f"power {achieved:.0%} at {_pp(REFERENCE_DIFFERENCE)}; detectable with {POWER:.0%} power: "
            + ("over 100 pp" if detectable is None else _pp(detectable)))


def power_lines(session: ArenaSession, rows: list[dict],
                differences: tuple[float, ...] = DEFAULT_DIFFERENCES,
                discordant: float = ASSUMED_DISCORDANT, within_share: float = ASSUMED_WITHIN_SHARE) -> list[str]:
    """The plan's power section: per comparison with a baseline, the tasks needed per difference
    and seed count, and what this config's tasks and seeds can detect."""
    config = session.config
    points = [p.label for p in config.strategy_points()]
    header = (f"power: tasks a paired comparison of two strategies needs to detect a difference in pass rate "
              f"(95% confidence, {POWER:.0%} power; pairs matched on task and seed, tasks resampled):")
    if len(points) < 2:
        return [header, f"  one strategy ({points[0] if points else 'none'}): nothing to compare"]
    baseline = "always-cloud" if "always-cloud" in points else points[0]
    seeds = len(config.benchmark.seeds)
    per_class = Counter(session.registry.get(t).task_class for t in dict.fromkeys(c.task_id for c in session.cells))
    lines = [header]
    assumed = assumed_components(discordant, within_share)
    shown_assumed = False
    for point in points:
        if point == baseline:
            continue
        components = estimate_components(_earlier_pairs(rows, point, baseline), within_share=within_share)
        if components is None and shown_assumed:
            lines.append(f"  {point} vs {baseline}: as above (no earlier pairs)")
            continue
        if components is None:
            components, shown_assumed = assumed, True
        lines += [f"  {point} vs {baseline}: variance between tasks {components.between:.3f}, within a task "
                  f"{components.within:.3f} per pair ({components.source})",
                  tabulate([[_pp(d), *[tasks_needed(d, components, m) or "over 1,000,000" for m in SEED_COLUMNS]]
                            for d in differences],
                           headers=["difference", *[f"tasks at {m} seed{'s' if m > 1 else ''}" for m in SEED_COLUMNS]],
                           tablefmt="github", disable_numparse=True)]
        for task_class, n in per_class.items():
            lines.append(f"  this config, {task_class}: {n} tasks × {seeds} seed{'s' if seeds != 1 else ''}: "
                         + _config_power(components, n, seeds))
        lines.append("")
    return lines


def _budget_lines(config, projected, total_cost: float) -> list[str]:
    budget = config.budget
    lines = ["budget caps:"]
    if budget.cell_usd is None and budget.session_usd is None:
        return lines + ["  none (budget.cell_usd and budget.session_usd are unset): "
                        "nothing stops a run that overspends"]
    if budget.cell_usd is not None:
        over = [c for c, p in projected if p.cost_usd > budget.cell_usd]
        lines.append(f"  budget.cell_usd = ${budget.cell_usd:g} per cell: "
                     + (f"{len(over)} cell(s) are projected above it and would end as budget_exceeded"
                        if over else "no cell is projected above it"))
    if budget.session_usd is not None:
        lines.append(f"  budget.session_usd = ${budget.session_usd:g} per session (per xdist worker): "
                     + (f"the projected ${total_cost:.4f} exceeds it; the session would stop early"
                        if total_cost > budget.session_usd else f"the projected ${total_cost:.4f} stays under it"))
    return lines


def main(argv: list[str] | None = None) -> int:
    """``plan`` sub-command; ``argv`` is what follows ``plan`` on the command line."""
    from pytest_arena.analysis.stats.loading import load_rows
    from pytest_arena.errors import ArenaError
    from pytest_arena.sweep.session import ArenaSession

    parser = argparse.ArgumentParser(prog="python -m pytest_arena plan",
                                     description="Print what a sweep config would run and cost; runs nothing.")
    parser.add_argument("config", type=Path, help="sweep config YAML")
    parser.add_argument("--rows", type=Path, action="append", default=[], metavar="PATH",
                        help="earlier raw.jsonl files or folders to project from (default: the config's out_dir)")
    parser.add_argument("--arena-set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, as with pytest --arena-set")
    parser.add_argument("--power-difference", type=float, action="append", default=[], metavar="PP",
                        help="a difference in pass rate (percentage points) the power section plans for "
                             f"(repeatable; default {', '.join(f'{100 * d:.0f}' for d in DEFAULT_DIFFERENCES)})")
    parser.add_argument("--assume-discordant", type=float, default=ASSUMED_DISCORDANT, metavar="SHARE",
                        help="without earlier pairs: the share of pairs on which two strategies disagree "
                             f"(default {ASSUMED_DISCORDANT})")
    parser.add_argument("--assume-within-share", type=float, default=ASSUMED_WITHIN_SHARE, metavar="SHARE",
                        help="the share of that variance that is seed-to-seed noise within a task, where earlier "
                             f"rows cannot tell (one seed per task) or do not exist (default {ASSUMED_WITHIN_SHARE})")
    args = parser.parse_args(argv)
    for name, value, low, high in (("--power-difference", v, 0.0, 100.0) for v in args.power_difference):
        if not low < value <= high:
            parser.error(f"{name} {value:g}: a difference in percentage points, above 0 and at most 100")
    for name, value in (("--assume-discordant", args.assume_discordant),
                        ("--assume-within-share", args.assume_within_share)):
        if not 0.0 <= value <= 1.0:
            parser.error(f"{name} {value:g}: a share between 0 and 1")
    try:
        session = ArenaSession.load(args.config, args.arena_set, "plan", Path.cwd())
    except ArenaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = None
    if args.rows:
        rows, warnings = load_rows(args.rows)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    differences = tuple(v / 100 for v in args.power_difference) or DEFAULT_DIFFERENCES
    print(plan_text(session, rows, differences, args.assume_discordant, args.assume_within_share))
    return 0

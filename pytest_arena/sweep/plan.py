"""The plan of a sweep, before anything runs: cells per axis, projected cloud spend and wall time per
strategy (operating point), and the budget caps that would apply.

    python -m pytest_arena plan CONFIG [--rows PATH]... [--arena-set KEY=VALUE]...
    pytest --arena-config CONFIG --arena-dry-run

A cell's projection comes from earlier rows, in this order: rows of the same cell (its cell key),
else rows of the same task and operating point (any agent or model); the medians of their cloud
prompt, completion and cached tokens are priced with the *current* pricing table for the cell's
cloud model, and the median wall time is used. Without such rows a stated default applies
(``DEFAULT_*`` below). ``infra_error`` rows say nothing about cost and are not used.
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


def plan_text(session: ArenaSession, rows: list[dict] | None = None) -> str:
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
    return "\n".join(lines)


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
    args = parser.parse_args(argv)
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
    print(plan_text(session, rows))
    return 0

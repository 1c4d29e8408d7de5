"""Analysis of result rows: the numbers, computed once, for the session-end report, the
``analyze`` command and anything else that reads rows. Computing writes nothing; the reports in
``analysis.report`` present an ``Analysis``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pytest_arena.analysis.stats.cells import CellStats, cell_statistics, group_by_cell
from pytest_arena.analysis.stats.curve import GroupCurve, curves
from pytest_arena.analysis.stats.intervals import TaskResampler
from pytest_arena.analysis.stats.legacy import legacy_bootstrap
from pytest_arena.analysis.stats.observations import CellId, GroupId, Observation, ObservationSet, observe_all
from pytest_arena.analysis.stats.paired import PairedComparison, paired_comparisons
from pytest_arena.analysis.stats.repricing import row_cost, scenario_totals, unknown_scenarios
from pytest_arena.analysis.stats.router_metrics import (
    Recommendation,
    StrategyMetrics,
    group_cells,
    recommend,
    strategy_metrics,
)
from pytest_arena.analysis.stats.run_compare import RunComparison, compare_runs
from pytest_arena.router.pricing import PricingTable, load_pricing

__all__ = ["Analysis", "AnalysisOptions", "compare", "compute", "price"]


@dataclass
class AnalysisOptions:
    resamples: int = 10_000
    seed: int = 20261127
    legacy: bool = False
    charts: bool = True
    scenarios: list[str] | None = None  # None: every scenario in the pricing table
    primary_scenario: str = "openai-gpt5.5"  # prices rows without a ledger cost (original format)
    pricing_path: Path | None = None


@dataclass
class Analysis:
    options: AnalysisOptions
    observations: ObservationSet
    pricing: PricingTable
    scenarios: list[str]
    scenario_totals: dict[CellId, np.ndarray]  # cell -> USD spent on its runs under each scenario
    cells: list[CellStats]
    groups: dict[GroupId, dict[str, CellStats]]
    metrics: dict[GroupId, dict[str, StrategyMetrics]]
    recommendations: dict[GroupId, Recommendation]
    comparisons: list[PairedComparison]
    curves: list[GroupCurve]  # cost–quality curve, APGR/CPT, oracle router per group
    legacy: dict[str, Any] | None
    warnings: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # as read: the report links each run to its cell folder
    outputs: dict[str, Path] = field(default_factory=dict)  # filled by report.write_reports, when written

    @property
    def superseded(self) -> int:
        return len(self.observations.superseded)


def price(observations: list[Observation], pricing: PricingTable, scenario: str) -> None:
    """Each run's cost: the ledger's where the row records one, else re-priced under ``scenario``."""
    for obs in observations:
        obs.cost_usd = (obs.ledger_cost_usd if obs.ledger_cost_usd is not None
                        else row_cost(pricing, scenario, obs.tokens))


def compare(a: tuple[str, list[dict[str, Any]]], b: tuple[str, list[dict[str, Any]]],
            options: AnalysisOptions) -> tuple[RunComparison, list[str]]:
    """Run A against run B, each pooled on its own (``analyze --compare``). Writes nothing."""
    pricing = load_pricing(options.pricing_path)
    sides, warnings = [], []
    for _, rows in (a, b):
        observed = observe_all(rows)
        price(observed.observations, pricing, options.primary_scenario)
        sides.append(observed.observations)
        warnings += observed.warnings
    comparison = compare_runs(sides[0], sides[1], a[0], b[0], TaskResampler(options.resamples, options.seed))
    return comparison, warnings


def compute(rows: list[dict[str, Any]], options: AnalysisOptions, load_warnings: Sequence[str] = ()) -> Analysis:
    """Compute everything from rows. Writes nothing: ``report.write_reports`` does.

    ``load_warnings`` (from ``load_rows``) are carried into the analysis, so a skipped line shows
    in summary.md and aggregate.json, not only on the terminal.
    """
    observed = observe_all(rows)
    warnings = [*load_warnings, *observed.warnings]
    pricing = load_pricing(options.pricing_path)
    scenarios = list(options.scenarios or pricing.scenarios)
    if options.primary_scenario not in scenarios:
        scenarios.insert(0, options.primary_scenario)
    for scenario in unknown_scenarios(pricing, scenarios):
        warnings.append(f"pricing scenario {scenario!r} has no price in {pricing.path}: its costs show as $0; "
                        f"use a scenario name from the table's 'scenarios' or a model key from its 'models'")
    price(observed.observations, pricing, options.primary_scenario)

    by_cell = group_by_cell(observed.observations)
    totals = {cell: scenario_totals(pricing, scenarios, [o.tokens for o in members if o.counted])
              for cell, members in by_cell.items()}
    resampler = TaskResampler(options.resamples, options.seed)
    cells = [cell_statistics(cell, members, resampler, options.primary_scenario) for cell, members in by_cell.items()]
    groups = group_cells(cells)
    legacy = None
    if options.legacy:
        legacy = legacy_bootstrap(observed.observations,
                                  [row_cost(pricing, options.primary_scenario, o.tokens)
                                   for o in observed.observations],
                                  options.primary_scenario)
    return Analysis(
        options=options, observations=observed, pricing=pricing, scenarios=scenarios, scenario_totals=totals,
        cells=cells, groups=groups,
        metrics={g: strategy_metrics(s) for g, s in groups.items()},
        recommendations={g: recommend(g, s) for g, s in groups.items()},
        comparisons=paired_comparisons(by_cell, resampler),
        curves=curves(by_cell, resampler),
        legacy=legacy, warnings=warnings, rows=rows,
    )



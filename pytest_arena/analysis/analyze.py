"""Analysis of result rows: one implementation for the session-end hook and the CLI.

    python -m pytest_arena analyze PATH... [--out DIR] [--resamples N] [--legacy] [--no-charts]
    python -m pytest_arena analyze A B --compare --out DIR

re-computes every number and chart from raw.jsonl files alone (folders are searched recursively
and pooled: seeds and strategies from several runs end up in the same cells; a cell key found in
two files counts twice, as repeats, with a warning). ``--compare`` sets two runs side by side.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pytest_arena.router.pricing import PricingTable, load_pricing

from pytest_arena.analysis.stats.cells import CellStats, cell_statistics, group_by_cell
from pytest_arena.analysis.stats.curve import GroupCurve, curves
from pytest_arena.analysis.stats.intervals import TaskResampler
from pytest_arena.analysis.stats.legacy import legacy_bootstrap
from pytest_arena.analysis.stats.loading import load_rows
from pytest_arena.analysis.stats.observations import CellId, GroupId, Observation, ObservationSet, observe_all
from pytest_arena.analysis.stats.paired import PairedComparison, paired_comparisons
from pytest_arena.analysis.stats.repricing import row_cost, scenario_totals, unknown_scenarios
from pytest_arena.analysis.stats.run_compare import RunComparison, compare_runs
from pytest_arena.analysis.stats.router_metrics import (
    Recommendation,
    StrategyMetrics,
    group_cells,
    recommend,
    strategy_metrics,
)

__all__ = ["AnalysisOptions", "Analysis", "load_rows", "run_analysis", "main"]


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
    legacy: dict | None
    warnings: list[str]
    rows: list[dict] = field(default_factory=list)  # as read: the report links each run to its cell folder
    outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def superseded(self) -> int:
        return len(self.observations.superseded)

    def terminal_summary(self) -> str:
        from pytest_arena.analysis.report.tables import terminal_summary
        return terminal_summary(self)


def price(observations: list[Observation], pricing: PricingTable, scenario: str) -> None:
    """Each run's cost: the ledger's where the row records one, else re-priced under ``scenario``."""
    for obs in observations:
        obs.cost_usd = obs.ledger_cost_usd if obs.ledger_cost_usd is not None else row_cost(pricing, scenario, obs.tokens)


def run_comparison(a: tuple[str, list[dict]], b: tuple[str, list[dict]], out_dir: Path,
                   options: AnalysisOptions) -> tuple[RunComparison, dict[str, Path], list[str]]:
    """``--compare``: run A against run B (each pooled on its own), compare.md and compare.json."""
    from pytest_arena.analysis.report.compare import write_compare

    pricing = load_pricing(options.pricing_path)
    sides, warnings = [], []
    for _, rows in (a, b):
        observed = observe_all(rows)
        price(observed.observations, pricing, options.primary_scenario)
        sides.append(observed.observations)
        warnings += observed.warnings
    comparison = compare_runs(sides[0], sides[1], a[0], b[0], TaskResampler(options.resamples, options.seed))
    return comparison, write_compare(comparison, Path(out_dir), options.resamples, options.seed), warnings


def run_analysis(rows: list[dict], out_dir: Path, options: AnalysisOptions,
                 load_warnings: list[str] = ()) -> Analysis:
    """Compute everything from rows and write every output file into out_dir.

    ``load_warnings`` (from ``load_rows``) are carried into the reports, so a skipped line shows
    in summary.md and aggregate.json, not only on the terminal.
    """
    from pytest_arena.analysis.report import write_reports

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
                                  [row_cost(pricing, options.primary_scenario, o.tokens) for o in observed.observations],
                                  options.primary_scenario)
    analysis = Analysis(
        options=options, observations=observed, pricing=pricing, scenarios=scenarios, scenario_totals=totals,
        cells=cells, groups=groups,
        metrics={g: strategy_metrics(s) for g, s in groups.items()},
        recommendations={g: recommend(g, s) for g, s in groups.items()},
        comparisons=paired_comparisons(by_cell, resampler),
        curves=curves(by_cell, resampler),
        legacy=legacy, warnings=warnings, rows=rows,
    )
    analysis.outputs = write_reports(analysis, Path(out_dir))
    return analysis


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_arena analyze",
        description="Re-compute statistics, comparisons and charts from raw.jsonl files (ours or the "
                    "original project's). Folders are searched recursively and pooled.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="raw.jsonl files or folders")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: the single PATH's folder; required with several PATHs)")
    parser.add_argument("--resamples", type=int, default=AnalysisOptions.resamples,
                        help="bootstrap resamples (default %(default)s)")
    parser.add_argument("--seed", type=int, default=AnalysisOptions.seed, help="bootstrap seed (default %(default)s)")
    parser.add_argument("--legacy", action="store_true",
                        help="also write bootstrap_cis_legacy.json: the original project's i.i.d. row bootstrap "
                             "(1,000 resamples, random.Random(42), error rows dropped)")
    parser.add_argument("--no-charts", action="store_true", help="skip the matplotlib charts")
    parser.add_argument("--scenario", default=AnalysisOptions.primary_scenario,
                        help="pricing scenario for rows without a recorded cost (default %(default)s)")
    parser.add_argument("--pricing", type=Path, default=None, help="pricing table JSON (default: the bundled one)")
    parser.add_argument("--compare", action="store_true",
                        help="compare two runs instead of pooling them: A B --compare --out DIR writes compare.md and "
                             "compare.json (Δ pass rate and Δ cost, B − A, per cell, group and overall, paired intervals)")
    return parser


def _default_out(paths: list[Path]) -> Path | None:
    if len(paths) != 1:
        return None
    return paths[0] if paths[0].is_dir() else paths[0].parent


def main(argv: list[str] | None = None) -> int:
    """``analyze`` sub-command; ``argv`` is what follows ``analyze`` on the command line."""
    args = _parser().parse_args(argv)
    out = args.out or _default_out(args.paths)
    if out is None:
        print("error: several PATHs given: choose where the reports go with --out DIR", file=sys.stderr)
        return 2
    if args.resamples < 100:
        print(f"error: --resamples {args.resamples} is too few for a 95% interval: use at least 100 "
              f"(default {AnalysisOptions.resamples})", file=sys.stderr)
        return 2
    if args.pricing is not None and not args.pricing.is_file():
        print(f"error: --pricing {args.pricing}: no such file", file=sys.stderr)
        return 2
    try:
        load_pricing(args.pricing)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: pricing table {args.pricing or 'bundled'} cannot be read ({exc}): it needs 'models' "
              f"with input/output/cache_read rates per model", file=sys.stderr)
        return 2
    if args.compare:
        return _compare_main(args, out)
    rows, load_warnings = load_rows(args.paths)
    if not rows:
        for warning in load_warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print("error: no result rows found in " + ", ".join(map(str, args.paths))
              + ": point PATH at a raw.jsonl file or a folder holding one", file=sys.stderr)
        return 2
    options = AnalysisOptions(resamples=args.resamples, seed=args.seed, legacy=args.legacy,
                              charts=not args.no_charts, primary_scenario=args.scenario,
                              pricing_path=args.pricing)
    analysis = run_analysis(rows, out, options, load_warnings)
    for warning in analysis.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(analysis.terminal_summary())
    print(f"\nreports in {out}: " + ", ".join(sorted(p.name for p in analysis.outputs.values())))
    return 0


def _compare_main(args: argparse.Namespace, out: Path) -> int:
    if len(args.paths) != 2:
        print(f"error: --compare takes exactly two runs (A B), got {len(args.paths)} PATH(s)", file=sys.stderr)
        return 2
    runs = []
    for path in args.paths:
        rows, warnings = load_rows([path])
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if not rows:
            print(f"error: no result rows found in {path}: point it at a raw.jsonl file or a folder holding one",
                  file=sys.stderr)
            return 2
        runs.append((str(path), rows))
    options = AnalysisOptions(resamples=args.resamples, seed=args.seed, primary_scenario=args.scenario,
                              pricing_path=args.pricing)
    comparison, outputs, warnings = run_comparison(runs[0], runs[1], out, options)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    from pytest_arena.analysis.report.compare import table_text, version_line

    print(f"A: {comparison.label_a}\nB: {comparison.label_b}\n{len(comparison.pairs)} pairs "
          f"({comparison.only_a} counted rows only in A, {comparison.only_b} only in B); {version_line(comparison)}\n")
    print(table_text(comparison, "simple"))
    print(f"\nreports in {out}: " + ", ".join(sorted(p.name for p in outputs.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

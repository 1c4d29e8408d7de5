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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_arena.analysis.compute import Analysis, AnalysisOptions, compare, compute
from pytest_arena.analysis.stats.loading import load_rows
from pytest_arena.router.pricing import load_pricing

__all__ = ["AnalysisOptions", "Analysis", "load_rows", "run_analysis", "main"]


def run_analysis(rows: list[dict[str, Any]], out_dir: Path, options: AnalysisOptions,
                 load_warnings: Sequence[str] = ()) -> Analysis:
    """Compute the analysis of ``rows`` and write every report into ``out_dir`` (``analysis.outputs``)."""
    from pytest_arena.analysis.report import write_reports

    analysis = compute(rows, options, load_warnings)
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
                             "compare.json (Δ pass rate and Δ cost, B − A, per cell, group and overall, "
                             "paired intervals)")
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
    from pytest_arena.analysis.report.tables import terminal_summary

    print(terminal_summary(analysis))
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
    from pytest_arena.analysis.report.compare import write_compare

    comparison, warnings = compare(runs[0], runs[1], options)
    outputs = write_compare(comparison, Path(out), options.resamples, options.seed)
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

"""Machine-readable outputs: aggregate.json, bootstrap_cis.json, comparisons.json,
cost_by_scenario.csv and (legacy mode) bootstrap_cis_legacy.json. Schemas: SCHEMA.md here."""
from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_arena.analysis.report.tables import HARNESS_LABEL
from pytest_arena.analysis.stats.cells import CellStats
from pytest_arena.analysis.stats.intervals import expanded_tail
from pytest_arena.version import __version__

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis

SCHEMA_VERSION = 1
CI_METHOD = ("task-clustered bootstrap, expanded percentile interval (tasks resampled with replacement, all "
             "seeds of a drawn task carried along; quantiles read at Phi(-sqrt(T/(T-1)) t_{0.975,T-1}) for T "
             "tasks); Wilson score interval with n = tasks where every resample is equal or there are fewer "
             "than 5 tasks (other statistics then give no interval)")


def _header(analysis: Analysis, schema: str) -> dict:
    return {
        "schema": f"pytest-arena/{schema}", "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(), "harness_version": __version__,
    }


def _cell_identity(stats: CellStats) -> dict:
    return {**stats.cell.as_dict(), "harness_check": stats.harness_check, "unsandboxed_rows": stats.n_unsandboxed,
            "label": HARNESS_LABEL if stats.harness_check else "model result"}


def aggregate(analysis: Analysis) -> dict:
    cells = {}
    for stats in analysis.cells:
        group = stats.cell.group
        metric = analysis.metrics[group][stats.cell.strategy]
        cells[stats.cell.key] = {
            **_cell_identity(stats),
            "n_rows": stats.n_rows, "n_counted": stats.n_counted, "n_tasks": stats.n_tasks,
            "n_seeds": stats.n_seeds, "seeds": stats.seeds, "outcomes": stats.outcomes,
            "passes": stats.passes, "as_expected": stats.as_expected, "pass_rate": stats.pass_rate.point,
            "cost_usd": {"median": stats.cost_median, "mean": stats.cost_mean.point, "total": stats.cost_total,
                         "per_solved": stats.cost_per_solved.point, "source": stats.cost_source},
            "cloud_fraction": {"tokens": stats.cloud_fraction_tokens, "calls": stats.cloud_fraction_calls},
            "wall_ms_median": stats.wall_ms_median,
            "gap_recovered": metric.gap_recovered, "cost_relative_to_cloud": metric.cost_relative_to_cloud,
            "on_pareto_frontier": metric.on_frontier,
            "recommended": analysis.recommendations[group].strategy == stats.cell.strategy,
            "per_task": {t: {"runs": v.runs, "passes": v.passes, "cost_usd": v.cost}
                         for t, v in sorted(stats.per_task.items())},
        }
    groups = {}
    for group, strategies in analysis.groups.items():
        rec = analysis.recommendations[group]
        groups[group.key] = {**group.as_dict(), "harness_check": rec.harness_check,
                             "strategies": list(strategies), "verdict": rec.verdict, "recommended": rec.strategy,
                             "more_tasks_needed": rec.more_needed, "best": rec.best,
                             "overlapping_best": rec.candidates, "reason": rec.reason}
    observed = analysis.observations
    return {
        **_header(analysis, "aggregate"),
        "rows": {"kept": len(observed.observations), "superseded": len(observed.superseded),
                 "original_format": sum(o.original_format for o in observed.observations)},
        "warnings": analysis.warnings,
        "pricing": {"path": analysis.pricing.path, "sha256": analysis.pricing.sha256,
                    "primary_scenario": analysis.options.primary_scenario, "scenarios": analysis.scenarios},
        "cells": cells, "groups": groups,
    }


def _levels(n_tasks: int) -> list[float] | None:
    if not n_tasks:
        return None
    tail = expanded_tail(n_tasks)
    return [tail, 1 - tail]


def bootstrap_cis(analysis: Analysis) -> dict:
    return {
        **_header(analysis, "bootstrap_cis"),
        "method": CI_METHOD, "unit": "task", "confidence": 0.95,
        "fallback": "wilson",
        "resamples": analysis.options.resamples, "seed": analysis.options.seed,
        "primary_scenario": analysis.options.primary_scenario,
        "cells": {
            stats.cell.key: {
                **_cell_identity(stats),
                "n_tasks": stats.n_tasks, "n_seeds": stats.n_seeds, "n_rows": stats.n_rows,
                "n_counted": stats.n_counted,
                "quantile_levels": _levels(stats.n_tasks),
                "pass_rate": stats.pass_rate.as_dict(),
                "cost_mean_usd": stats.cost_mean.as_dict(),
                "cost_per_solved_usd": stats.cost_per_solved.as_dict(),
            } for stats in analysis.cells
        },
    }


def comparisons(analysis: Analysis) -> dict:
    router_metrics = []
    for group, metrics in analysis.metrics.items():
        harness = any(s.harness_check for s in analysis.groups[group].values())
        for name, metric in metrics.items():
            router_metrics.append({**group.as_dict(), "strategy": name, "harness_check": harness,
                                   "gap_recovered": metric.gap_recovered,
                                   "cost_relative_to_cloud": metric.cost_relative_to_cloud,
                                   "on_pareto_frontier": metric.on_frontier})
    return {
        **_header(analysis, "comparisons"),
        "method": "paired task-clustered bootstrap (expanded percentile) over matched (task, seed) pairs; "
                  "delta = strategy minus baseline",
        "resamples": analysis.options.resamples, "seed": analysis.options.seed,
        "cost": f"ledger cost where recorded, else re-priced as {analysis.options.primary_scenario}",
        "paired": [c.as_dict() for c in analysis.comparisons],
        "router_metrics": router_metrics,
    }


COST_COLUMNS = ["class", "agent", "strategy", "local_model", "cloud_model", "harness_check", "scenario",
                "model_key", "runs", "passes", "cost_mean_usd", "cost_total_usd", "cost_per_solved_usd"]


def cost_by_scenario_rows(analysis: Analysis) -> list[dict]:
    """One row per (cell, scenario): every counted run re-priced from its tokens."""
    out = []
    for stats in analysis.cells:
        totals = analysis.scenario_totals[stats.cell]
        for scenario, total in zip(analysis.scenarios, totals):
            out.append({
                **stats.cell.as_dict(), "harness_check": stats.harness_check, "scenario": scenario,
                "model_key": analysis.pricing.normalise(analysis.pricing.scenario_model(scenario)) or "",
                "runs": stats.n_counted, "passes": stats.passes,
                "cost_mean_usd": f"{total / stats.n_counted:.6f}" if stats.n_counted else "",
                "cost_total_usd": f"{total:.6f}",
                "cost_per_solved_usd": f"{total / stats.passes:.6f}" if stats.passes else "",
            })
    return out


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    return path


def write_cost_by_scenario(path: Path, analysis: Analysis) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COST_COLUMNS)
        writer.writeheader()
        writer.writerows(cost_by_scenario_rows(analysis))
    return path


def _point_json(point) -> dict:
    return {"strategy": point.strategy, "family": point.family, "n_runs": point.n_runs, "n_tasks": point.n_tasks,
            "pass_rate": point.pass_rate.as_dict(), "cloud_share_tokens": point.cloud_share.as_dict(),
            "cost_mean_usd": point.cost_mean.as_dict(), "cost_per_solved_usd": point.cost_per_solved.as_dict(),
            "pgr": point.pgr.as_dict(), "oracle_gap_pass_rate": point.oracle_gap_pass.as_dict(),
            "oracle_gap_cost_usd": point.oracle_gap_cost.as_dict(),
            "pareto_cloud_share": point.pareto_share, "pareto_cost": point.pareto_cost}


def curve(analysis: Analysis) -> dict:
    """curve.json: the cost–quality curve, APGR/CPT per strategy family and the oracle router per group."""
    groups = {}
    for g in analysis.curves:
        oracle = g.oracle
        groups[g.group.key] = {
            **g.group.as_dict(), "harness_check": g.harness_check,
            "label": HARNESS_LABEL if g.harness_check else "model result",
            "n_tasks": len(g.tasks), "anchors": g.has_anchors,
            "points": [_point_json(p) for p in g.points.values()],
            "families": [{"family": f.family, "points": f.points, "parametrised": f.parametrised,
                          "apgr": f.apgr.as_dict(),
                          **{f"cpt_{round(level * 100)}": i.as_dict() for level, i in f.cpt.items()}}
                         for f in g.families],
            "oracle": {"n_units": oracle.n_units, "pass_rate": oracle.pass_rate.as_dict(),
                       "cost_mean_usd": oracle.cost_mean.as_dict(),
                       "cost_per_solved_usd": oracle.cost_per_solved.as_dict(),
                       "cloud_share_tokens": oracle.cloud_share.as_dict(), "picks": oracle.picks},
        }
    return {**_header(analysis, "curve"), "resamples": analysis.options.resamples, "seed": analysis.options.seed,
            "groups": groups}

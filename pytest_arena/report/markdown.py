"""summary.md and decision_matrix.md."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tabulate import tabulate

from ..stats.formatting import pass_with_ci, percent, usd
from ..stats.intervals import Interval
from .data_files import CI_METHOD
from .tables import HARNESS_LABEL, group_title, render_group

if TYPE_CHECKING:
    from ..analyze import Analysis


def _table(headers: list[str], rows: list[list]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _signed_interval(interval: Interval, scale: float, unit: str, digits: int) -> str:
    if interval.point is None:
        return "–"
    text = f"{interval.point * scale:+.{digits}f}{unit}"
    if interval.lower is not None:
        text += f" [{interval.lower * scale:+.{digits}f}, {interval.upper * scale:+.{digits}f}]"
    return text


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _provenance(analysis: "Analysis") -> list[str]:
    observed = analysis.observations
    originals = sum(o.original_format for o in observed.observations)
    return [
        f"- rows: {len(observed.observations)} used ({originals} in the original project's format); "
        f"{len(observed.superseded)} more superseded by a later re-run of the same cell (the last row counts)",
        f"- intervals: {CI_METHOD}; {analysis.options.resamples} resamples, seed {analysis.options.seed}",
        "- `infra_error` runs are left out of pass rates and shown as '+N infra'; harness checks (oracle/null "
        "agents, scripted backends) are labelled and never recommended",
        f"- cost: the ledger's cost where a row records one, else re-priced as "
        f"**{analysis.options.primary_scenario}** from token counts (pricing table sha256 "
        f"`{analysis.pricing.sha256[:12]}`)",
    ]


def comparison_rows(analysis: "Analysis") -> list[list]:
    rows = []
    for c in analysis.comparisons:
        rows.append([group_title(c.group, c.harness_check), f"{c.strategy} vs {c.baseline}", c.n_pairs, c.n_tasks,
                     _signed_interval(c.delta_pass_rate, 100, " pp", 1),
                     _signed_interval(c.delta_cost_usd, 1, "", 5),
                     f"{c.wins}/{c.ties}/{c.losses}"])
    return rows


COMPARISON_HEADERS = ["group", "comparison", "pairs", "tasks", "Δ pass rate [95% CI]", "Δ cost USD/task [95% CI]",
                      "win/tie/loss"]


def router_metric_rows(analysis: "Analysis") -> list[list]:
    rows = []
    for group, metrics in analysis.metrics.items():
        harness = any(s.harness_check for s in analysis.groups[group].values())
        for name, metric in metrics.items():
            rows.append([group_title(group, harness), name, _ratio(metric.gap_recovered),
                         _ratio(metric.cost_relative_to_cloud), "yes" if metric.on_frontier else ""])
    return rows


ROUTER_HEADERS = ["group", "strategy", "gap recovered", "cost vs always-cloud", "Pareto frontier"]


def summary_markdown(analysis: "Analysis") -> str:
    parts = ["# pytest-arena results", "", *_provenance(analysis), ""]
    if analysis.warnings:
        parts += ["## Warnings", "", *[f"- {w}" for w in analysis.warnings], ""]
    parts += ["## Cells", ""]
    for group in analysis.groups:
        rec = analysis.recommendations[group]
        parts += [f"### {group_title(group, rec.harness_check)}", "", render_group(analysis, group, "github"), "",
                  f"Recommendation: {rec.reason}.", ""]
    if analysis.comparisons:
        parts += ["## Paired comparisons (same task and seed)", "",
                  "Δ = strategy − baseline; win = the strategy passed where the baseline failed.", "",
                  _table(COMPARISON_HEADERS, comparison_rows(analysis)), ""]
    parts += ["## Router metrics", "",
              "gap recovered = (pass(s) − pass(always-local)) / (pass(always-cloud) − pass(always-local)); "
              "cost vs always-cloud = mean cost per task relative to always-cloud.", "",
              _table(ROUTER_HEADERS, router_metric_rows(analysis)), ""]
    if analysis.legacy is not None:
        parts += legacy_section(analysis.legacy)
    return "\n".join(parts)


def legacy_section(legacy: dict) -> list[str]:
    rows = []
    for key, cell in legacy["cells"].items():
        rate = cell["pass_rate"]
        ci = "–" if rate["ci_lower"] is None else f"[{100 * rate['ci_lower']:.1f}%, {100 * rate['ci_upper']:.1f}%]"
        rows.append([key, cell["n_rows"], percent(rate["point"]), ci, usd(cell["cost_usd"]["point"]),
                     percent(cell["cloud_fraction"]["point"])])
    return ["## Legacy: the original project's i.i.d. row bootstrap", "",
            f"{legacy['n_resamples']} resamples, random.Random({legacy['rng_seed']}), error rows dropped, rows "
            f"resampled as if independent (CIs too narrow; for comparison with published numbers only). "
            f"Cost: {legacy['scenario']}.", "",
            _table(["cell", "rows", "pass rate", "95% CI", "median cost", "cloud fraction"], rows), ""]


def decision_matrix_markdown(analysis: "Analysis") -> str:
    parts = ["# Decision matrix", "", *_provenance(analysis), "",
             "## Recommended strategy", "",
             "The cheapest strategy (mean cost per task) whose 95% pass-rate CI overlaps the CI of the "
             "strategy with the highest pass rate.", ""]
    rows = []
    for group, rec in analysis.recommendations.items():
        chosen = analysis.groups[group].get(rec.strategy) if rec.strategy else None
        rows.append([group_title(group, rec.harness_check), rec.strategy or "–",
                     pass_with_ci(chosen.pass_rate) if chosen else "–",
                     usd(chosen.cost_mean.point) if chosen else "–", rec.reason])
    parts += [_table(["group", "recommended", "pass rate [95% CI]", "cost/task", "why"], rows), ""]
    parts += ["## Per-strategy pass rate (95% CI)", ""]
    rows = []
    for group, strategies in analysis.groups.items():
        for name, stats in strategies.items():
            metric = analysis.metrics[group][name]
            rows.append([group_title(group, stats.harness_check), name, stats.n_counted, pass_with_ci(stats.pass_rate),
                         stats.pass_rate.method, usd(stats.cost_mean.point), usd(stats.cost_per_solved.point),
                         percent(stats.cloud_fraction_tokens), "yes" if metric.on_frontier else "",
                         "**recommended**" if analysis.recommendations[group].strategy == name else ""])
    parts += [_table(["group", "strategy", "runs", "pass rate [95% CI]", "interval", "cost/task", "cost/solved",
                      "cloud tokens", "Pareto", ""], rows), ""]
    parts += ["## Alternative pricing scenarios: mean cost per task", "",
              "Every run re-priced from its token counts at each scenario's rates.", ""]
    parts += [scenario_table(analysis), ""]
    return "\n".join(parts)


def scenario_table(analysis: "Analysis") -> str:
    rows = []
    for stats in analysis.cells:
        totals = analysis.scenario_totals[stats.cell]
        rows.append([f"{stats.cell.key}" + (f" ({HARNESS_LABEL})" if stats.harness_check else ""),
                     *[usd(float(t) / stats.n_counted) if stats.n_counted else "–" for t in totals]])
    return _table(["cell", *analysis.scenarios], rows)

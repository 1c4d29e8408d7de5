"""summary.md and decision_matrix.md."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tabulate import tabulate

from pytest_arena.analysis.report.cross_checks import cross_check_lines, glossary
from pytest_arena.analysis.report.data_files import CI_METHOD
from pytest_arena.analysis.report.sandboxes import SANDBOX_HEADERS, SANDBOX_NOTE, sandbox_rows
from pytest_arena.analysis.report.tables import HARNESS_LABEL, group_title, render_group
from pytest_arena.analysis.stats.formatting import pass_with_ci, percent, usd
from pytest_arena.analysis.stats.intervals import MIN_TASKS, Interval
from pytest_arena.analysis.stats.power import POWER, REFERENCE_DIFFERENCE, ComparisonPower
from pytest_arena.analysis.stats.router_metrics import NOT_ENOUGH, TOLERANCE

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis


def _table(headers: list[str], rows: list[list]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _signed_interval(interval: Interval, scale: float, unit: str, digits: int, sign: str = "+") -> str:
    if interval.point is None:
        return "–"
    text = f"{interval.point * scale:{sign}.{digits}f}{unit}"
    if interval.lower is not None and interval.upper is not None:
        text += f" [{interval.lower * scale:{sign}.{digits}f}, {interval.upper * scale:{sign}.{digits}f}]"
    return text


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def late_passes(rows: list[dict]) -> str | None:
    """The line that counts passes whose agent was killed at its time limit (its files passed)."""
    late = sum(1 for r in rows if r.get("outcome") == "pass" and r.get("agent_timed_out"))
    if not late:
        return None
    return (f"{late} pass{'es' if late != 1 else ''} after the agent's time limit (the agent was killed, "
            f"its files passed; rows say agent_timed_out: true)")


def _provenance(analysis: Analysis) -> list[str]:
    observed = analysis.observations
    originals = sum(o.original_format for o in observed.observations)
    late = late_passes(analysis.rows)
    return [
        f"- rows: {len(observed.observations)} used ({originals} in the original project's format); "
        f"{len(observed.superseded)} more superseded by a later re-run of the same cell (the last row counts)",
        f"- intervals: {CI_METHOD}; {analysis.options.resamples} resamples, seed {analysis.options.seed}",
        "- `infra_error` runs are left out of pass rates and shown as '+N infra'; harness checks (oracle/null "
        "agents, scripted backends) are labelled and never recommended",
        f"- cost: the ledger's cost where a row records one, else re-priced as "
        f"**{analysis.options.primary_scenario}** from token counts (pricing table sha256 "
        f"`{analysis.pricing.sha256[:12]}`)",
        *([f"- {late}"] if late else []),
        *cross_checks_markdown(analysis.rows),
    ]


def cross_checks_markdown(rows: list[dict]) -> list[str]:
    """The cross-checks behind the verdicts, per test runner, when a runner other than pytest
    scored some rows (pytest_arena/analysis/report/cross_checks.py)."""
    lines = cross_check_lines(rows)
    if not lines:
        return []
    return ["- cross-checks of the acceptance runs, per test runner (pytest's planted tests and pristine "
            "collection are pytest's; other runners apply what they record):",
            *(f"  - {line}" for line in lines), *(f"  - *{line}*" for line in glossary(rows))]


EVIDENCE_RULE = (
    f"with fewer than {MIN_TASKS} tasks per strategy, or when the cheaper strategy's observed pass rate is more "
    f"than {100 * TOLERANCE:.0f} pp below the best's, the answer is \"not enough evidence: need about N more "
    "tasks\", N = the tasks at which Wilson intervals (n = tasks) at the observed rates would stop overlapping, "
    "minus the tasks run.")


def delta_text(interval: Interval, note: str | None, scale: float, unit: str, digits: int) -> str:
    """Δ with its interval, or the point and why there is no interval."""
    text = _signed_interval(interval, scale, unit, digits)
    return f"{text}, {note}" if note and interval.point is not None else text


def comparison_rows(analysis: Analysis) -> list[list]:
    rows = []
    for c in analysis.comparisons:
        rows.append([group_title(c.group, c.harness_check), f"{c.strategy} vs {c.baseline}", c.n_pairs, c.n_tasks,
                     delta_text(c.delta_pass_rate, c.note, 100, " pp", 1),
                     _signed_interval(c.delta_cost_usd, 1, "", 5),
                     f"{c.wins}/{c.ties}/{c.losses}", *power_cells(c.power)])
    return rows


def power_cells(power: ComparisonPower) -> list[str]:
    """The achieved power at ±10 pp and the smallest difference detectable with 80% power."""
    if power.power is None:
        return [f"n/a (under {MIN_TASKS} tasks)", "n/a"]
    detectable = "over 100 pp" if power.detectable is None else f"{100 * power.detectable:.0f} pp"
    return [f"{power.power:.0%}", detectable]


COMPARISON_HEADERS = ["group", "comparison", "pairs", "tasks", "Δ pass rate [95% CI]", "Δ cost USD/task [95% CI]",
                      "win/tie/loss", f"power at ±{100 * REFERENCE_DIFFERENCE:.0f} pp",
                      f"detectable with {POWER:.0%} power"]
POWER_NOTE = (f"power: the chance that a true difference of {100 * REFERENCE_DIFFERENCE:.0f} pp would give an "
              "interval excluding 0, from the comparison's own variance between and within tasks (not the "
              "observed difference); detectable: the smallest difference found with "
              f"{POWER:.0%} power at these tasks and pairs per task; the plan command (python -m pytest_arena "
              "plan) says how many tasks a difference needs.")


def router_metric_rows(analysis: Analysis) -> list[list]:
    rows = []
    for group, metrics in analysis.metrics.items():
        harness = any(s.harness_check for s in analysis.groups[group].values())
        for name, metric in metrics.items():
            rows.append([group_title(group, harness), name, _ratio(metric.gap_recovered),
                         _ratio(metric.cost_relative_to_cloud), "yes" if metric.on_frontier else ""])
    return rows


ROUTER_HEADERS = ["group", "strategy", "gap recovered", "cost vs always-cloud", "Pareto frontier"]


def summary_markdown(analysis: Analysis) -> str:
    parts = ["# pytest-arena results", "", *_provenance(analysis), ""]
    if analysis.warnings:
        parts += ["## Warnings", "", *[f"- {w}" for w in analysis.warnings], ""]
    sandboxes = sandbox_rows(analysis.rows)
    if sandboxes:
        parts += ["## Sandboxes", "", SANDBOX_NOTE, "", _table(SANDBOX_HEADERS, sandboxes), ""]
    parts += ["## Cells", ""]
    for group in analysis.groups:
        rec = analysis.recommendations[group]
        parts += [f"### {group_title(group, rec.harness_check)}", "", render_group(analysis, group, "github"), "",
                  f"Recommendation: {rec.reason}.", ""]
    if analysis.comparisons:
        parts += ["## Paired comparisons (same task and seed)", "",
                  "Δ = strategy − baseline; win = the strategy passed where the baseline failed.", "",
                  POWER_NOTE, "",
                  _table(COMPARISON_HEADERS, comparison_rows(analysis)), ""]
    parts += ["## Router metrics", "",
              "gap recovered = (pass(s) − pass(always-local)) / (pass(always-cloud) − pass(always-local)); "
              "cost vs always-cloud = mean cost per task relative to always-cloud.", "",
              _table(ROUTER_HEADERS, router_metric_rows(analysis)), ""]
    parts += curve_section(analysis)
    if analysis.legacy is not None:
        parts += legacy_section(analysis.legacy)
    return "\n".join(parts)


CURVE_METHOD = (
    "Per group, every operating point (a strategy, or one swept parameter value: `cascade@threshold=15`) is "
    "a point of pass rate against cloud-token share and against mean cost per run. PGR (gap recovered) = "
    "(pass(s) − pass(always-local)) / (pass(always-cloud) − pass(always-local)). A strategy's curve joins its "
    "points' (cloud share, PGR), with the anchors (0, 0) and (1, 1), in cloud-share order by straight lines; "
    "APGR = the area under it (0.5: no better than mixing the anchors); CPT(x) = the cloud share at which it "
    "first reaches PGR x. Oracle router: per task and seed, the cheapest run that passed among all operating "
    "points (none passed: the cheapest run); gap = point − oracle. Pareto: no other point has at most its cloud "
    "share (or cost) and at least its pass rate, strictly better in one. Intervals: the same task resamples for "
    "every statistic of a group (resamples where it is undefined are left out).")

CURVE_HEADERS = ["group", "strategy", "runs", "cloud share [95% CI]", "pass rate [95% CI]", "cost/task",
                 "cost/solved [95% CI]", "PGR", "gap to oracle", "Pareto (share/cost)"]
FAMILY_HEADERS = ["group", "strategy", "points", "APGR [95% CI]", "CPT(50%) [95% CI]", "CPT(80%) [95% CI]"]
ORACLE_HEADERS = ["group", "oracle pass rate [95% CI]", "cost/task [95% CI]", "cost/solved", "cloud share", "picks"]


def _plain_interval(interval: Interval, scale: float = 1, unit: str = "", digits: int = 2) -> str:
    return _signed_interval(interval, scale, unit, digits, sign="")


def _usd_interval(interval: Interval) -> str:
    if interval.point is None:
        return "–"
    if interval.lower is None:
        return usd(interval.point)
    return f"{usd(interval.point)} [{usd(interval.lower)}, {usd(interval.upper)}]"


def curve_rows(analysis: Analysis) -> tuple[list[list], list[list], list[list]]:
    points, families, oracles = [], [], []
    for g in analysis.curves:
        title = group_title(g.group, g.harness_check)
        for p in g.points.values():
            pareto = "/".join(["share" if p.pareto_share else "", "cost" if p.pareto_cost else ""]).strip("/")
            points.append([title, p.strategy, p.n_runs, _plain_interval(p.cloud_share, 100, "%", 0),
                           pass_with_ci(p.pass_rate), usd(p.cost_mean.point), _usd_interval(p.cost_per_solved),
                           _ratio(p.pgr.point), _signed_interval(p.oracle_gap_pass, 100, " pp", 1), pareto])
        for f in g.families:
            families.append([title, f.family, ", ".join(f.points), _plain_interval(f.apgr),
                             *[_plain_interval(f.cpt[level], 100, "%", 0) for level in sorted(f.cpt)]])
        o = g.oracle
        oracles.append([title, pass_with_ci(o.pass_rate), _usd_interval(o.cost_mean), usd(o.cost_per_solved.point),
                        percent(o.cloud_share.point), ", ".join(f"{k} {v}" for k, v in o.picks.items())])
    return points, families, oracles


NO_FAMILIES = "No group has both anchors."


def curve_section(analysis: Analysis) -> list[str]:
    if not analysis.curves:
        return []
    points, families, oracles = curve_rows(analysis)
    parts = ["## Cost–quality curve", "", CURVE_METHOD, "", _table(CURVE_HEADERS, points), ""]
    parts += ["### APGR and CPT per strategy (needs always-local and always-cloud in the group)", ""]
    parts += [_table(FAMILY_HEADERS, families) if families else NO_FAMILIES, ""]
    parts += ["### Oracle router (per task and seed, the cheapest operating point that passed)", "",
              _table(ORACLE_HEADERS, oracles), ""]
    return parts


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


def decision_matrix_markdown(analysis: Analysis) -> str:
    parts = ["# Decision matrix", "", *_provenance(analysis), "",
             "## Recommended strategy", "",
             "The cheapest strategy (mean cost per task) whose 95% pass-rate CI overlaps the CI of the "
             "strategy with the highest pass rate — when the data can tell: " + EVIDENCE_RULE, ""]
    rows: list[list[object]] = []
    for group, rec in analysis.recommendations.items():
        chosen = analysis.groups[group].get(rec.strategy) if rec.strategy else None
        pick = rec.strategy or (f"{NOT_ENOUGH}: need about {rec.more_needed} more task{'s' * (rec.more_needed != 1)}"
                                if rec.verdict == NOT_ENOUGH else "–")
        rows.append([group_title(group, rec.harness_check), pick,
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


def scenario_table(analysis: Analysis) -> str:
    rows = []
    for stats in analysis.cells:
        totals = analysis.scenario_totals[stats.cell]
        rows.append([f"{stats.cell.key}" + (f" ({HARNESS_LABEL})" if stats.harness_check else ""),
                     *[usd(float(t) / stats.n_counted) if stats.n_counted else "–" for t in totals]])
    return _table(["cell", *analysis.scenarios], rows)

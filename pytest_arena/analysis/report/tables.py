"""Per-group tables (strategies as rows): the same rows feed the terminal, Markdown and HTML."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tabulate import tabulate

from pytest_arena.analysis.stats.cells import CellStats
from pytest_arena.analysis.stats.formatting import pass_with_ci, percent, usd
from pytest_arena.analysis.stats.observations import GroupId
from pytest_arena.analysis.stats.router_metrics import NOT_ENOUGH, RECOMMEND

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis

HARNESS_LABEL = "harness check"
RECOMMENDED_MARK = "◀ recommended"
_OUTCOME_SHORT = {"fail": "fail", "timeout": "timeout", "budget_exceeded": "budget", "agent_crash": "crash",
                  "truncated": "truncated", "infra_error": "infra"}


def group_title(group: GroupId, harness_check: bool) -> str:
    prefix = f"[{HARNESS_LABEL}] " if harness_check else ""
    return prefix + group.title


def outcome_note(stats: CellStats) -> str:
    """Non-pass outcomes, e.g. "fail 2, timeout 1, infra 1"."""
    parts = [f"{_OUTCOME_SHORT[name]} {count}" for name, count in stats.outcomes.items()
             if name != "pass" and count]
    return ", ".join(parts) or "–"


def runs_text(stats: CellStats) -> str:
    infra = stats.outcomes.get("infra_error", 0)
    return f"{stats.n_counted} (+{infra} infra)" if infra else str(stats.n_counted)


def wall_text(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.1f} s"


def group_table(analysis: Analysis, group: GroupId) -> tuple[list[str], list[list[object]]]:
    strategies = analysis.groups[group]
    harness = any(s.harness_check for s in strategies.values())
    recommendation = analysis.recommendations[group]
    headers = ["strategy", "tasks", "seeds", "runs", "pass rate [95% CI]", "median cost", "cost/task (mean)",
               "cloud tokens", "median wall", "other outcomes", "as expected" if harness else ""]
    rows = []
    for name, stats in strategies.items():
        mark = f"{stats.as_expected}/{stats.n_counted}" if harness else (
            RECOMMENDED_MARK if name == recommendation.strategy else "")
        label = f"{name} [{stats.n_unsandboxed} unsandboxed]" if stats.n_unsandboxed else name
        rows.append([
            label, stats.n_tasks, stats.n_seeds, runs_text(stats), pass_with_ci(stats.pass_rate),
            usd(stats.cost_median), usd(stats.cost_mean.point), percent(stats.cloud_fraction_tokens),
            wall_text(stats.wall_ms_median), outcome_note(stats), mark,
        ])
    return headers, rows


def render_group(analysis: Analysis, group: GroupId, tablefmt: str) -> str:
    headers, rows = group_table(analysis, group)
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)


def terminal_summary(analysis: Analysis) -> str:
    if not analysis.groups:
        return "pytest-arena: no result rows to summarise"
    blocks = []
    for group, strategies in analysis.groups.items():
        harness = any(s.harness_check for s in strategies.values())
        lines = [group_title(group, harness), render_group(analysis, group, "simple")]
        rec = analysis.recommendations[group]
        if rec.verdict == RECOMMEND:
            lines.append("recommended: " + rec.reason)
        elif rec.verdict == NOT_ENOUGH:
            lines.append(rec.reason)
        blocks.append("\n".join(lines))
    notes = []
    if analysis.superseded:
        notes.append(f"{analysis.superseded} row(s) superseded by a later re-run of the same cell (last row counts)")
    infra = sum(s.outcomes.get("infra_error", 0) for s in analysis.cells)
    if infra:
        notes.append(f"{infra} infra_error run(s) left out of pass rates (shown as '+N infra'); re-run them with --lf")
    if analysis.warnings:
        notes.append(f"{len(analysis.warnings)} warning(s): see summary.md")
    blocks.append(
        f"95% CI: task-clustered bootstrap ({analysis.options.resamples} resamples), Wilson (n = tasks) where it "
        f"degenerates or below 5 tasks. Costs: ledger, else re-priced as {analysis.options.primary_scenario}."
        + "".join(f"\n{note}" for note in notes))
    return "\n\n".join(blocks)

"""compare.md and compare.json: two runs side by side (``analyze A B --compare``)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tabulate import tabulate

from pytest_arena.analysis.report.data_files import write_json
from pytest_arena.analysis.report.markdown import _signed_interval, delta_text
from pytest_arena.analysis.stats.formatting import percent, usd
from pytest_arena.analysis.stats.run_compare import RunComparison

COMPARE_METHOD = ("Pairs: the same cell key (task × agent × strategy × local model × cloud model × seed) with a "
                  "counted row in both runs (infra_error on either side drops the pair). Δ = B − A, the mean over "
                  "pairs; 95% CI: paired task-clustered bootstrap (tasks resampled with all their pairs, expanded "
                  "percentile); fewer than 5 tasks: no interval.")
HEADERS = ["scope", "pairs", "tasks", "pass A", "pass B", "Δ pass rate B − A [95% CI]", "Δ cost USD/run [95% CI]",
           "B better/same/worse"]


def scope_rows(comparison: RunComparison) -> list[list[object]]:
    rows = []
    for s in comparison.scopes:
        d = s.delta
        rows.append([s.title, d.n_pairs, d.n_tasks, percent(s.pass_a), percent(s.pass_b),
                     delta_text(d.delta_pass_rate, d.note, 100, " pp", 1), _signed_interval(d.delta_cost_usd, 1, "", 5),
                     f"{d.wins}/{d.ties}/{d.losses}"])
    return rows


def table_text(comparison: RunComparison, tablefmt: str) -> str:
    return tabulate(scope_rows(comparison), headers=HEADERS, tablefmt=tablefmt, disable_numparse=True)


def _facts(comparison: RunComparison) -> list[str]:
    differ = sum(p.a.measured_sha != p.b.measured_sha for p in comparison.pairs if p.a.measured_sha)
    return [f"- A: {comparison.label_a}", f"- B: {comparison.label_b}",
            f"- {len(comparison.pairs)} pairs; {comparison.only_a} counted row(s) only in A, "
            f"{comparison.only_b} only in B (not compared)",
            f"- {differ} pair(s) measured under different settings (measured_sha)",
            f"- {version_line(comparison)}"]


def version_line(comparison: RunComparison) -> str:
    """How many pairs ran another agent version in B than in A, and which: an upgrade is a change
    too, and a comparison across one says so."""
    changes = Counter((p.cell.agent, p.a.agent_version, p.b.agent_version) for p in comparison.pairs
                      if p.versions_differ)
    if not changes:
        return "0 pair(s) measured with different agent versions"
    named = ", ".join(f"{agent} {a} → {b}" for (agent, a, b), _ in changes.most_common(3))
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return f"{sum(changes.values())} pair(s) measured with different agent versions ({named}{more})"


def compare_markdown(comparison: RunComparison) -> str:
    parts = ["# Two runs compared", "", *_facts(comparison), "", COMPARE_METHOD, "",
             table_text(comparison, "github"), ""]
    changed = [p for p in comparison.pairs if p.a.outcome != p.b.outcome]
    parts += [f"## Cells whose outcome changed ({len(changed)} of {len(comparison.pairs)})", ""]
    if changed:
        rows = [[p.cell.key, p.task_id, p.seed_key, p.a.outcome, p.b.outcome, usd(p.a.cost_usd), usd(p.b.cost_usd)]
                for p in changed]
        parts.append(tabulate(rows, headers=["cell", "task", "seed", "A", "B", "cost A", "cost B"],
                              tablefmt="github", disable_numparse=True))
    else:
        parts.append("None.")
    return "\n".join(parts) + "\n"


def compare_json(comparison: RunComparison, resamples: int, seed: int) -> dict[str, Any]:
    return {
        "schema": "pytest-arena/compare", "schema_version": 1, "a": comparison.label_a, "b": comparison.label_b,
        "method": COMPARE_METHOD, "resamples": resamples, "seed": seed,
        "only_in_a": comparison.only_a, "only_in_b": comparison.only_b,
        "scopes": [{"scope": s.scope, "title": s.title, "pass_rate_a": s.pass_a, "pass_rate_b": s.pass_b,
                    **s.delta.as_dict()} for s in comparison.scopes],
        "pairs": [p.as_dict() for p in comparison.pairs],
    }


def write_compare(comparison: RunComparison, out_dir: Path, resamples: int, seed: int) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "compare.md"
    md.write_text(compare_markdown(comparison), encoding="utf-8")
    return {"compare": md,
            "compare_data": write_json(out_dir / "compare.json", compare_json(comparison, resamples, seed))}

"""Session-end reporting: analyse the results folder with the one analysis implementation."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from pytest_arena.analysis.compute import AnalysisOptions
from pytest_arena.cell.results import ResultsStore


def infra_problems(rows: list[dict[str, Any]], since: str) -> list[str]:
    """One line per distinct infrastructure problem of this session, with how many cells it hit:
    a missing Ollama or API key shows once, not once per cell."""
    problems: Counter[str] = Counter()
    for row in rows:
        if (row.get("started_at") or "") >= since and row.get("outcome") == "infra_error":
            # a cell missing several pieces names them all, joined by " AND ": count each piece
            for piece in (row.get("error") or "unknown").split(" AND "):
                problems[re.sub(r"\s+", " ", piece).strip()] += 1
    return [f"{count} cell(s): {message}" for message, count in problems.most_common()]


def sandbox_warnings(rows: list[dict[str, Any]], since: str) -> list[str]:
    """Loud lines for this session's cells that ran in a kind that does not wall off files and
    network (as the kind states it: pytest_arena/sandbox/kinds.py)."""
    from pytest_arena.sandbox.kinds import isolates

    unsandboxed: Counter[str | None] = Counter()
    agent_kinds: set[str] = set()
    scoring: Counter[str] = Counter()
    for row in rows:
        if (row.get("started_at") or "") < since:
            continue
        box = row.get("sandbox") or {}
        held = row.get("sandbox_guarantees") or {}  # the walls that held, where the row records them
        if box.get("agent") not in (None, "not started") and not isolates(box["agent"], held.get("agent")):
            unsandboxed[row.get("route")] += 1
            agent_kinds.add(box["agent"])
        if box.get("scoring") not in (None, "not run") and not isolates(box["scoring"], held.get("scoring")):
            scoring[box["scoring"]] += 1
    lines = []
    if unsandboxed:
        agents = ", ".join(f"{agent} ({n})" for agent, n in unsandboxed.most_common())
        lines.append(f"WARNING: {sum(unsandboxed.values())} cell(s) ran their agent WITHOUT a sandbox "
                     f"(sandbox.agents={'/'.join(sorted(agent_kinds))}): {agents}. The agent could read the task's "
                     f"reference, other cells and your files; reports mark these cells 'unsandboxed'.")
    from pytest_arena.sandbox.run import fallback_warning

    for kind, n in scoring.most_common():
        lines.append(f"WARNING: {n} cell(s): {fallback_warning(kind)}")
    return lines


def session_report(store: ResultsStore, out_dir: Path, options: AnalysisOptions, started_at: str,
                   pricing_warnings: list[str]) -> str:
    """The report at a session's end: every report file written into ``out_dir`` from the rows
    of ``store``, and the lines for the terminal (this session's problems from ``started_at`` on)."""
    rows = store.all_rows()
    pricing = [f"WARNING: {w}" for w in pricing_warnings]  # costs that read $0 without being free
    if not rows:
        return "\n".join([f"no rows in {store.raw_path}", *pricing])
    problems = infra_problems(rows, started_at)
    from pytest_arena.analysis.compute import compute
    from pytest_arena.analysis.report import write_reports

    analysis = compute(rows, options, load_warnings=[*store.warnings, *pricing_warnings])  # summary.md too
    analysis.outputs = write_reports(analysis, out_dir)
    from pytest_arena.analysis.report.tables import terminal_summary

    lines = [terminal_summary(analysis), f"{len(rows)} rows in {store.raw_path}; reports in {out_dir}"]
    from pytest_arena.analysis.report.markdown import late_passes

    lines.extend(filter(None, [late_passes(rows)]))
    if problems:
        lines.append("infrastructure problems this session (not the system under test; fix, then re-run with --lf):")
        lines.extend(f"  {p}" for p in problems)
    lines.extend(sandbox_warnings(rows, started_at))
    lines.extend(pricing)
    lines.extend(f"warning: {w}" for w in store.warnings)
    return "\n".join(lines)

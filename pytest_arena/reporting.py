"""Session-end reporting: analyse the results folder with the one analysis implementation."""
from __future__ import annotations

import re
from collections import Counter

from .session import ArenaSession


def infra_problems(rows: list[dict], since: str) -> list[str]:
    """One line per distinct infrastructure problem of this session, with how many cells it hit:
    a missing Ollama or API key shows once, not once per cell."""
    problems = Counter()
    for row in rows:
        if (row.get("started_at") or "") >= since and row.get("outcome") == "infra_error":
            # a cell missing several pieces names them all, joined by " AND ": count each piece
            for piece in (row.get("error") or "unknown").split(" AND "):
                problems[re.sub(r"\s+", " ", piece).strip()] += 1
    return [f"{count} cell(s): {message}" for message, count in problems.most_common()]


def session_report(arena: ArenaSession) -> str:
    rows = arena.store.all_rows()
    if not rows:
        return f"no rows in {arena.store.raw_path}"
    problems = infra_problems(rows, arena.started_at)
    from .analyze import AnalysisOptions, run_analysis

    cfg = arena.config
    options = AnalysisOptions(resamples=cfg.analysis.resamples, seed=cfg.analysis.seed, legacy=cfg.analysis.legacy,
                              charts=cfg.analysis.charts, scenarios=list(cfg.pricing.scenarios),
                              primary_scenario=cfg.pricing.primary,
                              pricing_path=None if cfg.pricing.table is None else arena.project_root / cfg.pricing.table)
    analysis = run_analysis(rows, arena.out_dir, options, load_warnings=list(arena.store.warnings))
    lines = [analysis.terminal_summary(), f"{len(rows)} rows in {arena.store.raw_path}; reports in {arena.out_dir}"]
    if problems:
        lines.append("infrastructure problems this session (not the system under test; fix, then re-run with --lf):")
        lines.extend(f"  {p}" for p in problems)
    lines.extend(f"warning: {w}" for w in arena.store.warnings)
    return "\n".join(lines)

"""Session-end reporting: analyse the results folder with the one analysis implementation."""
from __future__ import annotations

from .session import ArenaSession


def session_report(arena: ArenaSession) -> str:
    rows = arena.store.all_rows()
    if not rows:
        return f"no rows in {arena.store.raw_path}"
    from .analyze import AnalysisOptions, run_analysis

    cfg = arena.config
    options = AnalysisOptions(resamples=cfg.analysis.resamples, seed=cfg.analysis.seed, legacy=cfg.analysis.legacy,
                              charts=cfg.analysis.charts, scenarios=list(cfg.pricing.scenarios),
                              primary_scenario=cfg.pricing.primary,
                              pricing_path=None if cfg.pricing.table is None else arena.project_root / cfg.pricing.table)
    analysis = run_analysis(rows, arena.out_dir, options, load_warnings=list(arena.store.warnings))
    lines = [analysis.terminal_summary(), f"{len(rows)} rows in {arena.store.raw_path}; reports in {arena.out_dir}"]
    lines.extend(f"warning: {w}" for w in arena.store.warnings)
    return "\n".join(lines)

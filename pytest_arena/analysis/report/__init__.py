"""Reports from an Analysis: JSON/CSV data files, Markdown, charts, a self-contained HTML page and
a page per run (report/cells/).
File schemas: SCHEMA.md in this folder."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_arena.analysis.report.cell_pages import collect_runs, write_cell_pages
from pytest_arena.analysis.report.charts import curve_chart, heatmap_chart, matplotlib_available, pareto_chart
from pytest_arena.analysis.report.data_files import (
    aggregate,
    bootstrap_cis,
    comparisons,
    curve,
    write_cost_by_scenario,
    write_json,
)
from pytest_arena.analysis.report.html import report_html
from pytest_arena.analysis.report.markdown import decision_matrix_markdown, summary_markdown

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis


def write_reports(analysis: Analysis, out_dir: Path) -> dict[str, Path]:
    """Write every output; returns {name: path}. Charts only when matplotlib is installed and
    ``options.charts`` is on (a warning says so when it is missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts: dict[str, Path] = {}
    if analysis.options.charts:
        if matplotlib_available():
            for name, draw in (("pareto", pareto_chart), ("heatmap", heatmap_chart), ("curve", curve_chart)):
                path = draw(analysis, out_dir / f"{name}.png")
                if path is not None:
                    charts[name] = path
        else:
            analysis.warnings.append("charts skipped: matplotlib is not installed (pip install 'pytest-arena[charts]')")
    outputs = {
        "aggregate": write_json(out_dir / "aggregate.json", aggregate(analysis)),
        "bootstrap_cis": write_json(out_dir / "bootstrap_cis.json", bootstrap_cis(analysis)),
        "comparisons": write_json(out_dir / "comparisons.json", comparisons(analysis)),
        "curve_data": write_json(out_dir / "curve.json", curve(analysis)),
        "cost_by_scenario": write_cost_by_scenario(out_dir / "cost_by_scenario.csv", analysis),
        **charts,
    }
    if analysis.legacy is not None:
        outputs["bootstrap_cis_legacy"] = write_json(out_dir / "bootstrap_cis_legacy.json", analysis.legacy)
    for name, text in (("summary", summary_markdown(analysis)),
                       ("decision_matrix", decision_matrix_markdown(analysis))):
        path = out_dir / f"{name}.md"
        path.write_text(text, encoding="utf-8")
        outputs[name] = path
    runs = collect_runs(analysis, out_dir)
    write_cell_pages(runs, out_dir)
    outputs["report"] = out_dir / "report.html"
    outputs["report"].write_text(report_html(analysis, charts, runs), encoding="utf-8")
    return outputs

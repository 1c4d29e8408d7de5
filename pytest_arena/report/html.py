"""report.html: tables and charts on one self-contained page (charts inlined as base64 PNG)."""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from .markdown import COMPARISON_HEADERS, CURVE_HEADERS, CURVE_METHOD, FAMILY_HEADERS, NO_FAMILIES, \
    ORACLE_HEADERS, ROUTER_HEADERS, comparison_rows, curve_rows, router_metric_rows
from .tables import group_title, render_group

if TYPE_CHECKING:
    from ..analyze import Analysis

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f0f0f0; }
h3.harness { color: #777; }
.note { color: #555; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


def _image(path: Path | None, alt: str) -> str:
    if path is None or not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>'


def _table(headers: list[str], rows: list[list]) -> str:
    escaped = [[html.escape(str(v)) for v in row] for row in rows]
    return tabulate(escaped, headers=[html.escape(h) for h in headers], tablefmt="unsafehtml", disable_numparse=True)


def report_html(analysis: "Analysis", charts: dict[str, Path]) -> str:
    body = ["<h1>pytest-arena results</h1>",
            f'<p class="note">{len(analysis.observations.observations)} rows, '
            f"{analysis.superseded} superseded by re-runs; 95% CIs: task-clustered bootstrap "
            f"({analysis.options.resamples} resamples), Wilson (n = tasks) where it degenerates. "
            f"Harness checks are labelled and never recommended.</p>"]
    if analysis.warnings:
        body.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in analysis.warnings) + "</ul>")
    body.append(_image(charts.get("pareto"), "cost vs pass rate per strategy"))
    body.append("<h2>Cells</h2>")
    for group in analysis.groups:
        rec = analysis.recommendations[group]
        css = ' class="harness"' if rec.harness_check else ""
        table = render_group(analysis, group, "html")
        body += [f"<h3{css}>{html.escape(group_title(group, rec.harness_check))}</h3>", table,
                 f'<p class="note">Recommendation: {html.escape(rec.reason)}.</p>']
    if analysis.comparisons:
        body += ["<h2>Paired comparisons (same task and seed)</h2>", _table(COMPARISON_HEADERS, comparison_rows(analysis))]
    body += ["<h2>Router metrics</h2>", _table(ROUTER_HEADERS, router_metric_rows(analysis))]
    if analysis.curves:
        points, families, oracles = curve_rows(analysis)
        body += ["<h2>Cost–quality curve</h2>", f'<p class="note">{html.escape(CURVE_METHOD)}</p>',
                 _image(charts.get("curve"), "pass rate against cloud share and cost per operating point"),
                 _table(CURVE_HEADERS, points), "<h3>APGR and CPT per strategy (needs always-local and always-cloud in the group)</h3>",
                 _table(FAMILY_HEADERS, families) if families else f'<p class="note">{NO_FAMILIES}</p>',
                 "<h3>Oracle router</h3>", _table(ORACLE_HEADERS, oracles)]
    body.append(_image(charts.get("heatmap"), "pass rate per task and strategy"))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pytest-arena results</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(part for part in body if part) + "\n</body></html>\n")

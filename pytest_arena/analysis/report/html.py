"""report.html: the answer first (the recommended strategy per class, agent and model), then what
produced it (run facts), then the cells and runs to check it by, filterable, each run linked to
its own page (cell_pages.py). One self-contained file: charts inlined as base64 PNG, one small
inline script for the filters, nothing fetched, so it works offline from file://.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from pytest_arena.analysis.report.cell_pages import RunEntry, outcome_class
from pytest_arena.analysis.report.htmlkit import esc, facts, page, table
from pytest_arena.analysis.report.markdown import (
    COMPARISON_HEADERS,
    CURVE_HEADERS,
    CURVE_METHOD,
    FAMILY_HEADERS,
    NO_FAMILIES,
    ORACLE_HEADERS,
    POWER_NOTE,
    ROUTER_HEADERS,
    comparison_rows,
    curve_rows,
    router_metric_rows,
)
from pytest_arena.analysis.report.run_facts import run_facts
from pytest_arena.analysis.report.sandboxes import SANDBOX_HEADERS, SANDBOX_NOTE, sandbox_rows
from pytest_arena.analysis.report.tables import HARNESS_LABEL, group_table
from pytest_arena.analysis.stats.formatting import pass_with_ci, usd
from pytest_arena.analysis.stats.router_metrics import NOT_ENOUGH

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis

# (data attribute, label): what the cells and runs tables can be filtered by
FILTERS = (("class", "class"), ("agent", "agent"), ("strategy", "strategy"), ("local", "local model"),
           ("cloud", "cloud model"), ("outcome", "outcome"))

# Hides every filterable row that does not match a chosen value; a row without an attribute
# (cells have no outcome) is not filtered on it. Counts say how many rows are left.
_FILTER_SCRIPT = """
(function () {
  var selects = document.querySelectorAll('select[data-filter]');
  function apply() {
    var wanted = {};
    selects.forEach(function (s) { if (s.value) { wanted[s.dataset.filter] = s.value; } });
    document.querySelectorAll('table.filterable').forEach(function (t) {
      var rows = t.querySelectorAll('tbody tr'), shown = 0;
      rows.forEach(function (tr) {
        var ok = Object.keys(wanted).every(function (k) {
          return !(k in tr.dataset) || tr.dataset[k] === wanted[k];
        });
        tr.hidden = !ok;
        if (ok) { shown += 1; }
      });
      var count = document.querySelector('[data-count-for="' + t.id + '"]');
      if (count) { count.textContent = shown + ' of ' + rows.length + ' shown'; }
    });
  }
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  var reset = document.getElementById('filter-reset');
  if (reset) {
    reset.addEventListener('click', function () { selects.forEach(function (s) { s.value = ''; }); apply(); });
  }
  apply();
})();
"""


def _image(path: Path | None, alt: str) -> str:
    if path is None or not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{esc(alt)}" src="data:image/png;base64,{data}"></p>'


def _plain_table(headers: list[str], rows: list[list]) -> str:
    escaped = [[esc(v) for v in row] for row in rows]
    return tabulate(escaped, headers=[esc(h) for h in headers], tablefmt="unsafehtml", disable_numparse=True)


def _cell_attrs(cell, harness: bool, **more) -> dict:
    return {"class": "harness" if harness else None, "data-class": cell.task_class, "data-agent": cell.agent,
            "data-strategy": cell.strategy, "data-local": cell.local_model, "data-cloud": cell.cloud_model, **more}


def _verdict(rec) -> str:
    """The recommended-strategy cell: the pick, or the stats' "not enough evidence" answer."""
    if rec.harness_check:
        return f"– ({HARNESS_LABEL})"
    if rec.strategy:
        return f'<span class="recommended">{esc(rec.strategy)}</span>'
    if rec.verdict == NOT_ENOUGH:
        more = f": need about {rec.more_needed} more tasks" if rec.more_needed else ""
        leading = f"<br>leading: {esc(rec.best)}" if rec.best else ""
        return f'<span class="evidence">{esc(NOT_ENOUGH + more)}</span>{leading}'
    return '<span class="evidence">no recommendation</span>'


def _why(rec) -> str:
    """The reason, without the verdict the recommended column already states."""
    head, sep, rest = rec.reason.partition(" — ")
    return rest if rec.verdict == NOT_ENOUGH and sep and head.startswith(NOT_ENOUGH) else rec.reason


def decision_table(analysis: Analysis) -> str:
    """One row per group: the recommended strategy (or the leading one, when the evidence does not
    decide yet), its pass rate and cost, and why."""
    rows = []
    order = sorted(analysis.recommendations.items(), key=lambda item: (item[1].harness_check, item[0]))
    for group, rec in order:
        shown = analysis.groups[group].get(rec.strategy or rec.best or "")
        rows.append(({"class": "harness" if rec.harness_check else None, "data-verdict": rec.verdict},
                     [group.task_class, group.agent, group.local_model, group.cloud_model, _verdict(rec),
                      pass_with_ci(shown.pass_rate) if shown else "–",
                      usd(shown.cost_mean.point) if shown else "–", _why(rec)]))
    return table(["class", "agent", "local model", "cloud model", "recommended", "pass rate [95% CI]", "cost/task",
                  "why"], rows, table_id="decision", raw_columns=frozenset({4}))


def _filters(analysis: Analysis, runs: list[RunEntry]) -> str:
    values: dict[str, set[str]] = {key: set() for key, _ in FILTERS}
    for stats in analysis.cells:
        for key, value in _cell_attrs(stats.cell, False).items():
            if key.startswith("data-"):
                values[key[5:]].add(value)
    for entry in runs:
        values["outcome"].add(str(entry.row.get("outcome")))
    controls = []
    for key, label in FILTERS:
        options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in sorted(values[key]))
        controls.append(f'<label>{esc(label)} <select data-filter="{key}" aria-label="{esc(label)}">'
                        f'<option value="">all</option>{options}</select></label>')
    return ('<div class="filters">Filter the cells and runs: ' + "".join(controls)
            + '<button type="button" id="filter-reset">show all</button></div>')


def cells_table(analysis: Analysis) -> str:
    rows = []
    headers: list[str] = []
    for group, strategies in analysis.groups.items():
        headers, group_rows = group_table(analysis, group)
        harness = any(s.harness_check for s in strategies.values())
        for stats, cells in zip(strategies.values(), group_rows):
            rows.append((_cell_attrs(stats.cell, harness),
                         [group.task_class, group.agent, group.local_model, group.cloud_model, *cells]))
    headers = ["class", "agent", "local model", "cloud model", *headers[:-1],
               f"recommended / as expected ({HARNESS_LABEL}s)"]
    return table(headers, rows, table_id="cells", css="filterable") if rows else "<p>no cells</p>"


def runs_table(runs: list[RunEntry]) -> str:
    rows = []
    for entry in runs:
        row, cell = entry.row, entry.cell
        quality = row.get("quality") or {}
        routing = row.get("routing") or {}
        outcome = str(row.get("outcome"))
        cost = row.get("cost_usd")
        wall = (row.get("latency") or {}).get("wall_ms")
        rows.append((_cell_attrs(cell, False, **{"data-outcome": outcome}), [
            f'<a href="{esc(entry.page)}">{esc(entry.run_id)}</a>', cell.task_class, row.get("task_id"), cell.agent,
            cell.strategy, cell.local_model, cell.cloud_model, row.get("seed"),
            f'<span class="{outcome_class(outcome)}">{esc(outcome)}</span>',
            f"{quality.get('tests_passed', '–')}/{quality.get('tests_total', '–')}",
            usd(cost) if isinstance(cost, (int, float)) else "–",
            f"{routing.get('local_calls', 0)} / {routing.get('cloud_calls', 0)}",
            "–" if wall is None else f"{wall / 1000:.1f} s"]))
    return table(["run (its page)", "class", "task", "agent", "strategy", "local model", "cloud model", "seed",
                  "outcome", "tests", "cost", "calls local / cloud", "wall"], rows, table_id="runs", css="filterable",
                 raw_columns=frozenset({0, 8}))


def report_html(analysis: Analysis, charts: dict[str, Path], runs: list[RunEntry]) -> str:
    body = ["<h1>pytest-arena results</h1>",
            "<h2>Which strategy, for which task class, at what cost?</h2>",
            '<p class="note">Per class, agent and models: the cheapest strategy (mean cost per task) whose 95% '
            "pass-rate interval overlaps the best one's; harness checks are labelled and never recommended.</p>",
            decision_table(analysis),
            "<h2>Run facts</h2>", facts(run_facts(analysis, runs))]
    sandboxes = sandbox_rows(analysis.rows)
    if sandboxes:
        body += ["<h2>Sandboxes</h2>", f'<p class="note">{esc(SANDBOX_NOTE)}</p>',
                 _plain_table(SANDBOX_HEADERS, sandboxes)]
    if analysis.warnings:
        body.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{esc(w)}</li>" for w in analysis.warnings) + "</ul>")
    body.append(_image(charts.get("pareto"), "cost vs pass rate per strategy"))
    body += ["<h2>Cells</h2>", _filters(analysis, runs),
             '<p class="note">One row per (class, agent, strategy, local model, cloud model); runs = rows counted '
             'in the pass rate. <span data-count-for="cells"></span></p>', cells_table(analysis),
             "<h2>Runs</h2>",
             '<p class="note">Each run links to its page: facts, failing tests, diff and the routed conversation. '
             '<span data-count-for="runs"></span></p>',
             runs_table(runs) if runs else '<p class="note">no runs with a cell folder (rows in the '
             "original project's format carry none)</p>"]
    if analysis.comparisons:
        body += ["<h2>Paired comparisons (same task and seed)</h2>", f'<p class="note">{esc(POWER_NOTE)}</p>',
                 _plain_table(COMPARISON_HEADERS, comparison_rows(analysis))]
    body += ["<h2>Router metrics</h2>", _plain_table(ROUTER_HEADERS, router_metric_rows(analysis))]
    if analysis.curves:
        points, families, oracles = curve_rows(analysis)
        body += ["<h2>Cost–quality curve</h2>", f'<p class="note">{esc(CURVE_METHOD)}</p>',
                 _image(charts.get("curve"), "pass rate against cloud share and cost per operating point"),
                 _plain_table(CURVE_HEADERS, points),
                 "<h3>APGR and CPT per strategy (needs always-local and always-cloud in the group)</h3>",
                 _plain_table(FAMILY_HEADERS, families) if families else f'<p class="note">{esc(NO_FAMILIES)}</p>',
                 "<h3>Oracle router</h3>", _plain_table(ORACLE_HEADERS, oracles)]
    body.append(_image(charts.get("heatmap"), "pass rate per task and strategy"))
    return page("pytest-arena results", body, script=_FILTER_SCRIPT)

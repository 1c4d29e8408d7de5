"""What produced the numbers on report.html: dates, configs, checkouts, versions, models, sandbox.

Taken from the rows the analysis counted (each row carries its own provenance), so a report over
runs pooled from several sweeps lists every value with its run count: a mix shows, never hides.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pytest_arena.analysis.report.cell_pages import RunEntry
from pytest_arena.analysis.report.cell_pages import row_value as _get
from pytest_arena.analysis.report.cross_checks import cross_check_lines
from pytest_arena.analysis.report.data_files import CI_METHOD

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis

NOT_RECORDED = "not recorded"


def distinct(values: Iterable[object]) -> str:
    """One value as it is; several with their run counts, most common first."""
    counts = Counter(NOT_RECORDED if v in (None, "") else str(v) for v in values)
    if not counts:
        return NOT_RECORDED
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{value} ({n} runs)" for value, n in counts.most_common())


def _config(row: dict) -> str:
    """The config file is the pytest node id's path part (the config is the collected file)."""
    node = str(row.get("node_id") or "")
    path = node.split("::", 1)[0] if "::" in node else NOT_RECORDED
    sha = str(row.get("config_sha") or "")[:12] or NOT_RECORDED
    return f"{path} (sha {sha}, variant {row.get('variant') or NOT_RECORDED})"


def _date_range(rows: list[dict]) -> str:
    starts = sorted(str(r["started_at"]) for r in rows if r.get("started_at"))
    ends = sorted(str(r["finished_at"]) for r in rows if r.get("finished_at"))
    if not starts:
        return NOT_RECORDED
    return f"{starts[0]} to {ends[-1] if ends else '?'} (UTC)"


def _sandbox(row: dict) -> str:
    return f"agent {_get(row, 'sandbox', 'agent') or '?'}, tests {_get(row, 'sandbox', 'scoring') or '?'}"


def _host(row: dict) -> str:
    host = _get(row, "provenance", "host")
    if host is None:
        return NOT_RECORDED
    return (f"{host} ({_get(row, 'provenance', 'cpu')}, {_get(row, 'provenance', 'cpus')} cpu, "
            f"{_get(row, 'provenance', 'memory_gb')} GB, {_get(row, 'provenance', 'platform')})")


def _each(rows: list[dict], value: Callable[[dict], object]) -> str:
    return distinct(value(r) for r in rows)


def run_facts(analysis: Analysis, runs: list[RunEntry]) -> list[tuple[str, str]]:
    rows = [e.row for e in runs]
    observed = analysis.observations
    originals = sum(o.original_format for o in observed.observations)
    facts = [
        ("runs", f"{len(observed.observations)} rows counted ({originals} in the original project's format, "
                 f"without provenance); {len(observed.superseded)} more superseded by a later re-run"),
        ("date", _date_range(rows)),
        ("report written", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("config", _each(rows, _config)),
        ("git sha (pytest-arena checkout)", _each(rows, lambda r: _get(r, "provenance", "git_sha"))),
        ("pytest-arena", _each(rows, lambda r: _get(r, "provenance", "harness_version"))),
        ("python", _each(rows, lambda r: _get(r, "provenance", "python"))),
        ("agents", _each(rows, lambda r: f"{r.get('route')} {r.get('agent_version') or '?'}")),
        ("local models", _each(rows, lambda r: f"{r.get('local_model_id')} "
                                               f"({_get(r, 'backend_kinds', 'local') or '?'})")),
        ("cloud models", _each(rows, lambda r: f"{r.get('cloud_model_id')} "
                                               f"({_get(r, 'backend_kinds', 'cloud') or '?'})")),
        ("router classifier", _each(rows, lambda r: r.get("router_classifier_model_id"))),
        ("sandbox", _each(rows, _sandbox)),
        ("hosts", _each(rows, _host)),
        ("pricing", f"ledger cost, else re-priced as {analysis.options.primary_scenario}; table sha256 "
                    f"{analysis.pricing.sha256[:12]}"),
        ("intervals", f"{CI_METHOD}; {analysis.options.resamples} resamples, seed {analysis.options.seed}"),
    ]
    checks = cross_check_lines(analysis.rows)
    if checks:  # a runner other than pytest scored some rows: say which checks stood behind each
        facts.append(("test runners and cross-checks", "; ".join(checks)))
    return facts

"""Reading rows: the original project's format, superseded re-runs, infra errors, bad lines,
and costs re-priced from token counts."""
import csv
import json

import pytest

from pytest_arena.analysis.analyze import load_rows
from pytest_arena.analysis.report.tables import terminal_summary

from .rowfactory import original_row, our_row, write_jsonl


def cell_by_strategy(analysis, strategy):
    (stats,) = [c for c in analysis.cells if c.cell.strategy == strategy]
    return stats


def test_original_rows_are_read_as_they_are(analyse):
    rows = [
        original_row("real-dev/d6-toposort", "cascade", True, category="D"),
        original_row("real-dev/d6-toposort", "cascade", False, category="D"),
        original_row("real-dev/d6-toposort", "cascade", None, category="D", error="agent_timeout_900s"),
        original_row("real-dev/d6-toposort", "cascade", True, category="D", error="cline_exit_1"),
        original_row("real-dev/d6-toposort", "cascade", None, category="D", error="cline_not_installed"),
        original_row("exercism-python/grep", "heuristic", True, category="A", route="aider"),
    ]
    analysis = analyse(rows)
    cascade = cell_by_strategy(analysis, "cascade")
    assert cascade.cell.task_class == "refactors"
    assert cell_by_strategy(analysis, "heuristic").cell.task_class == "puzzles"
    assert cascade.cell.local_model == cascade.cell.cloud_model == "unrecorded"
    # tests passed -> pass (even with a non-zero exit), timeout error -> timeout, not installed -> infra
    assert {k: v for k, v in cascade.outcomes.items() if v} == {"pass": 2, "fail": 1, "timeout": 1, "infra_error": 1}
    assert cascade.pass_rate.point == pytest.approx(2 / 4)
    assert cascade.seeds == ["rep0", "rep1", "rep2", "rep3", "rep4"]  # null seeds become replicates
    assert cascade.cost_source == "repriced:openai-gpt5.5"
    aggregate = json.loads(analysis.outputs["aggregate"].read_text())
    assert aggregate["rows"]["original_format"] == 6


def test_costs_are_repriced_from_tokens_under_every_scenario(analyse):
    # Parity facts from the original (ORIGINAL.md 6.2): 5000 prompt (1000 cached) + 2000
    # completion on gpt-5.5 = $0.0805; 1000 prompt + 500 completion = $0.020.
    rows = [original_row("real-dev/a", "always-cloud", True, cloud_tokens=(5000, 2000), local_tokens=(0, 0),
                         cached=1000),
            original_row("real-dev/a2", "always-cloud", True, cloud_tokens=(1000, 500), local_tokens=(0, 0),
                         cached=3000),
            original_row("real-dev/b", "always-local", True, cloud_tokens=(0, 0), local_tokens=(7000, 900)),
            original_row("real-dev/c", "cascade", True, cloud_tokens=(1000, 500), local_tokens=(9000, 100))]
    analysis = analyse(rows)
    cloud = cell_by_strategy(analysis, "always-cloud")
    assert cloud.cost_total == pytest.approx(0.0805 + (1000 * 0.5 + 500 * 30.0) / 1e6)  # cached capped at the prompt
    assert analysis.scenario_totals[cloud.cell][analysis.scenarios.index("openai-gpt5.5")] == pytest.approx(
        cloud.cost_total)  # pricing summed tokens equals summing per-row prices
    assert cell_by_strategy(analysis, "always-local").cost_median == 0.0
    with analysis.outputs["cost_by_scenario"].open() as handle:
        table = {(r["strategy"], r["scenario"]): r for r in csv.DictReader(handle)}
    assert float(table["cascade", "openai-gpt5.5"]["cost_mean_usd"]) == pytest.approx(0.020)
    assert float(table["cascade", "anthropic-claude-sonnet-4.6"]["cost_mean_usd"]) == pytest.approx(
        (1000 * 3.0 + 500 * 15.0) / 1e6)
    assert table["cascade", "anthropic-claude-sonnet-4.6"]["model_key"] == "claude-sonnet-4-6"
    assert {s for _, s in table} == set(analysis.pricing.scenarios)  # all ten scenarios


def test_our_ledger_cost_is_used_and_scenarios_still_reprice(analyse):
    rows = [our_row("real-dev/a", "always-cloud", 1, cloud_tokens=(1000, 500), cost_usd=0.5)]
    analysis = analyse(rows)
    stats = cell_by_strategy(analysis, "always-cloud")
    assert (stats.cost_median, stats.cost_source) == (0.5, "ledger")
    totals = analysis.scenario_totals[stats.cell]
    assert totals[analysis.scenarios.index("openai-gpt5.5")] == pytest.approx(0.020)  # re-priced from tokens


def test_last_row_of_a_cell_key_wins_and_superseded_rows_are_reported(analyse):
    rows = [our_row("real-dev/a", "cascade", 1, "infra_error"),
            our_row("real-dev/b", "cascade", 1, "pass"),
            our_row("real-dev/a", "cascade", 1, "fail"),  # re-run via --lf
            our_row("real-dev/a", "cascade", 1, "pass")]  # and again
    analysis = analyse(rows)
    stats = cell_by_strategy(analysis, "cascade")
    assert (stats.n_rows, stats.passes, stats.outcomes["infra_error"], stats.outcomes["fail"]) == (2, 2, 0, 0)
    assert analysis.superseded == 2
    assert "2 row(s) superseded" in terminal_summary(analysis)
    assert json.loads(analysis.outputs["aggregate"].read_text())["rows"]["superseded"] == 2


def test_infra_errors_leave_the_denominator_but_stay_visible(analyse):
    rows = [our_row(f"real-dev/t{i}", "cascade", 1, outcome)
            for i, outcome in enumerate(["pass", "pass", "pass", "fail", "timeout", "infra_error"])]
    analysis = analyse(rows)
    stats = cell_by_strategy(analysis, "cascade")
    assert stats.pass_rate.point == pytest.approx(3 / 5)
    assert (stats.n_rows, stats.n_counted, stats.outcomes["infra_error"]) == (6, 5, 1)
    summary = terminal_summary(analysis)
    assert "5 (+1 infra)" in summary and "timeout 1" in summary and "infra 1" in summary


def test_a_bad_line_is_a_warning_naming_file_and_line(tmp_path, analyse):
    good = our_row("real-dev/a", "cascade", 1)
    raw = write_jsonl(tmp_path / "run" / "raw.jsonl", [good, '{"task_id": "real-dev/b", "rou', "[1, 2]",
                                                        {"route": "aider"}, our_row("real-dev/c", "cascade", 1)])
    rows, warnings = load_rows([tmp_path])
    assert len(rows) == 3  # the object without task_id is still an object: the analysis names it
    assert warnings[0].startswith(f"{raw}:2: skipped line: not valid JSON")
    assert warnings[1].startswith(f"{raw}:3: skipped line: a row must be a JSON object")
    from pytest_arena.analysis.analyze import AnalysisOptions, run_analysis
    analysis = run_analysis(rows, tmp_path / "out", AnalysisOptions(charts=False), warnings)
    assert any(w.startswith(f"{raw}:4: skipped row: missing field 'task_id'") for w in analysis.warnings)
    assert cell_by_strategy(analysis, "cascade").n_rows == 2
    summary = analysis.outputs["summary"].read_text()
    assert f"{raw}:2" in summary and f"{raw}:4" in summary


def test_folders_are_searched_recursively_and_pooled(tmp_path, analyse):
    write_jsonl(tmp_path / "sweep" / "cascade" / "seed-1" / "raw.jsonl", [our_row("real-dev/a", "cascade", 1)])
    write_jsonl(tmp_path / "sweep" / "cascade" / "seed-2" / "raw.jsonl", [our_row("real-dev/a", "cascade", 2, "fail")])
    write_jsonl(tmp_path / "sweep" / "other.jsonl", [our_row("real-dev/a", "cascade", 3)])  # not a raw.jsonl
    rows, warnings = load_rows([tmp_path / "sweep"])
    assert warnings == []
    stats = cell_by_strategy(analyse(rows), "cascade")
    assert (stats.n_seeds, stats.passes, stats.n_counted) == (2, 1, 2)  # one cell across both folders


def test_a_missing_path_is_a_warning(tmp_path):
    rows, warnings = load_rows([tmp_path / "nope", tmp_path])
    assert rows == []
    assert warnings == [f"{tmp_path / 'nope'}: no such file or folder",
                        f"{tmp_path}: no raw.jsonl in this folder or below"]

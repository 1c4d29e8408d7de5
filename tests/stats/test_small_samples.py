"""Statements that respect sample size: too few pairs give no interval, wide intervals give no pick."""
import json

import pytest

from pytest_arena.analysis.report.tables import terminal_summary
from pytest_arena.analysis.stats.intervals import tasks_to_separate, wilson_interval

from .rowfactory import cell_rows, our_row


def test_one_pair_says_too_few_instead_of_a_zero_width_interval(analyse):
    rows = [our_row("real-dev/a", "always-local", 1, "fail", cost_usd=0.0),
            our_row("real-dev/a", "always-cloud", 1, "pass", cost_usd=0.03)]
    analysis = analyse(rows)
    (c,) = [c for c in analysis.comparisons if c.strategy == "always-local"]
    assert c.delta_pass_rate.point == -1.0 and c.delta_pass_rate.lower is None
    assert c.note.startswith("too few pairs (n=1 on 1 task")
    summary = analysis.outputs["summary"].read_text()
    assert "-100.0 pp, too few pairs (n=1" in summary and "[-100.0, -100.0]" not in summary
    paired = json.loads(analysis.outputs["comparisons"].read_text())["paired"]
    assert {p["note"] is not None and p["delta_pass_rate"]["ci_lower"] is None for p in paired} == {True}


def test_five_tasks_that_all_lose_get_a_real_interval_not_a_point(analyse):
    rows = (cell_rows([[False]] * 5, "always-local", cost_usd=0.0)
            + cell_rows([[True]] * 5, "always-cloud", cost_usd=0.03))
    (c,) = [c for c in analyse(rows).comparisons if c.strategy == "always-local"]
    # every resample is -100 pp; the Wilson square-and-add interval of 0/5 against 5/5 stands in
    assert c.note is None and c.delta_pass_rate.method == "wilson-difference"
    assert c.delta_pass_rate.lower == -1.0 and -0.7 < c.delta_pass_rate.upper < -0.3


def test_the_issue_example_is_not_enough_evidence_with_the_count_from_the_intervals(analyse):
    # always-local 33.3% [3, 91] against always-cloud 100% [21, 100]: one task, three seeds
    rows = (cell_rows([[True, False, False]], "always-local", cost_usd=0.0)
            + cell_rows([[True, True, True]], "always-cloud", cost_usd=0.03))
    analysis = analyse(rows)
    (rec,) = analysis.recommendations.values()
    assert rec.strategy is None and rec.verdict == "not enough evidence"
    # Wilson intervals (n = tasks) at 1/3 and 1 first stop overlapping at 8 tasks: 7 more
    assert tasks_to_separate(1.0, 1 / 3) == 8
    assert wilson_interval(1 / 3, 8)[1] < wilson_interval(1.0, 8)[0] and \
        wilson_interval(1 / 3, 7)[1] >= wilson_interval(1.0, 7)[0]
    assert rec.more_needed == 7
    assert rec.reason.startswith("not enough evidence: need about 7 more tasks")
    assert "recommended" not in terminal_summary(analysis).replace("not enough", "")
    assert "not enough evidence: need about 7 more tasks" in terminal_summary(analysis)
    group = next(iter(json.loads(analysis.outputs["aggregate"].read_text())["groups"].values()))
    assert (group["verdict"], group["recommended"], group["more_tasks_needed"]) == ("not enough evidence", None, 7)
    assert "| not enough evidence: need about 7 more tasks |" in analysis.outputs["decision_matrix"].read_text()


def test_a_wide_gap_hidden_by_wide_intervals_is_not_a_tie_even_with_enough_tasks(analyse):
    # 10 tasks: always-local 60%, always-cloud 90%; the intervals overlap, the gap is 30 pp
    rows = (cell_rows([[True]] * 6 + [[False]] * 4, "always-local", cost_usd=0.0)
            + cell_rows([[True]] * 9 + [[False]], "always-cloud", cost_usd=0.03))
    analysis = analyse(rows)
    (rec,) = analysis.recommendations.values()
    assert "always-local" in rec.candidates  # the old rule would have picked it
    assert rec.verdict == "not enough evidence" and rec.more_needed == tasks_to_separate(0.9, 0.6) - 10


@pytest.mark.parametrize(("local_passes", "verdict"), [(10, "recommend"), (9, "recommend"), (8, "not enough evidence")])
def test_a_cheaper_strategy_within_ten_points_is_recommended(analyse, local_passes, verdict):
    rows = (cell_rows([[True]] * local_passes + [[False]] * (10 - local_passes), "cascade", cost_usd=0.01)
            + cell_rows([[True]] * 10, "always-cloud", cost_usd=0.03))
    (rec,) = analyse(rows).recommendations.values()
    assert rec.verdict == verdict
    assert (rec.strategy == "cascade") == (verdict == "recommend")

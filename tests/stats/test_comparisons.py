"""Paired comparisons, router metrics and the recommendation on constructed strategies."""
import itertools
import json
from collections import Counter

import pytest

from pytest_arena.analysis.report.tables import terminal_summary

from .rowfactory import cell_rows, our_row

# Ten tasks x two seeds. Per task: (strategy passes per seed, baseline passes per seed).
PAIRED_DESIGN = [
    ((1, 1), (0, 0)),  # two wins
    ((1, 1), (0, 1)),  # one win, one tie
    ((1, 0), (1, 0)),  # two ties
    ((0, 0), (1, 0)),  # one loss, one tie
    ((1, 1), (1, 1)),
    ((1, 1), (1, 1)),
    ((0, 1), (0, 0)),  # one win, one tie
    ((0, 0), (0, 0)),
    ((1, 1), (1, 0)),  # one win, one tie
    ((1, 0), (1, 1)),  # one tie, one loss
]


def paired_rows():
    rows = []
    for t, (ours, theirs) in enumerate(PAIRED_DESIGN):
        for s in range(2):
            rows.append(our_row(f"real-dev/t{t:02d}", "cascade", 40 + s, "pass" if ours[s] else "fail",
                                cost_usd=0.01))
            rows.append(our_row(f"real-dev/t{t:02d}", "always-cloud", 40 + s, "pass" if theirs[s] else "fail",
                                cost_usd=0.03))
    return rows


def exact_bootstrap_quantile(task_sums, pairs_per_task, level):
    """Quantile of mean-per-pair Δ over all equally likely task resamples (enumerated exactly via
    the distribution of the sum of n draws)."""
    n = len(task_sums)
    distribution = Counter({0: 1.0})
    for _ in range(n):
        step = Counter()
        for total, weight in distribution.items():
            for value in task_sums:
                step[total + value] += weight / n
        distribution = step
    cumulative = 0.0
    for total in sorted(distribution):
        cumulative += distribution[total]
        if cumulative >= level:
            return total / (n * pairs_per_task)
    raise AssertionError("unreachable")


def comparison(analysis, strategy, baseline):
    (found,) = [c for c in analysis.comparisons if c.strategy == strategy and c.baseline == baseline]
    return found


def test_paired_difference_on_a_constructed_pair(analyse):
    analysis = analyse(paired_rows())
    c = comparison(analysis, "cascade", "always-cloud")
    diffs = [o - b for ours, theirs in PAIRED_DESIGN for o, b in zip(ours, theirs)]
    assert (c.n_pairs, c.n_tasks) == (20, 10)
    assert (c.wins, c.ties, c.losses) == (5, 13, 2)
    assert (c.wins, c.ties, c.losses) == (diffs.count(1), diffs.count(0), diffs.count(-1))
    assert c.delta_pass_rate.point == pytest.approx(3 / 20)
    assert c.delta_cost_usd.point == pytest.approx(-0.02)
    # The bootstrap quantiles agree with the exact resampling distribution up to Monte-Carlo error.
    task_sums = [sum(o - b for o, b in zip(ours, theirs)) for ours, theirs in PAIRED_DESIGN]
    tail = 0.00855  # expanded percentile level for 10 tasks: Phi(-sqrt(10/9) * 2.262157)
    assert exact_bootstrap_quantile(task_sums, 2, tail - 0.004) <= c.delta_pass_rate.lower \
        <= exact_bootstrap_quantile(task_sums, 2, tail + 0.004)
    assert exact_bootstrap_quantile(task_sums, 2, 1 - tail - 0.004) <= c.delta_pass_rate.upper \
        <= exact_bootstrap_quantile(task_sums, 2, 1 - tail + 0.004)
    assert c.delta_pass_rate.lower < 0 < c.delta_pass_rate.upper  # 3 pp up, not resolved by 10 tasks


def test_pairs_match_on_task_and_seed_and_drop_infra_errors(analyse):
    rows = [
        our_row("real-dev/a", "cascade", 1, "pass"), our_row("real-dev/a", "always-local", 1, "fail"),
        our_row("real-dev/a", "cascade", 2, "pass"), our_row("real-dev/a", "always-local", 2, "infra_error"),
        our_row("real-dev/b", "cascade", 1, "fail"),  # the baseline never ran this seed
        our_row("real-dev/b", "always-local", 3, "pass"),
    ]
    c = comparison(analyse(rows), "cascade", "always-local")
    assert (c.n_pairs, c.wins, c.ties, c.losses) == (1, 1, 0, 0)
    assert c.unmatched == 3  # a/2 (partner was infra_error), b/1 and b/3


def test_router_metrics_and_recommendation(analyse):
    rows = (cell_rows([[True]] * 12, "always-cloud", cost_usd=0.03)
            + cell_rows([[True]] * 11 + [[False]], "cascade", cost_usd=0.008)
            + cell_rows([[True]] * 10 + [[False]] * 2, "heuristic", cost_usd=0.02)
            + cell_rows([[True]] * 3 + [[False]] * 9, "always-local", cost_usd=0.0))
    analysis = analyse(rows)
    (group,) = analysis.groups
    metrics = analysis.metrics[group]
    assert metrics["cascade"].gap_recovered == pytest.approx((11 / 12 - 3 / 12) / (1 - 3 / 12))
    assert metrics["cascade"].cost_relative_to_cloud == pytest.approx(0.008 / 0.03)
    assert metrics["always-local"].gap_recovered == 0.0 and metrics["always-cloud"].gap_recovered == 1.0
    assert {n for n, m in metrics.items() if m.on_frontier} == {"always-cloud", "cascade", "always-local"}
    rec = analysis.recommendations[group]
    assert rec.best == "always-cloud"
    assert rec.strategy == "cascade"  # cheapest whose CI overlaps always-cloud's [0.76, 1]
    assert "always-local" not in rec.candidates  # 25%: its CI stays far below
    assert "cascade" in rec.reason and "cheapest" in rec.reason and "always-cloud" in rec.reason
    decision = (analysis.outputs["decision_matrix"]).read_text()
    assert "| cascade" in decision and "**recommended**" in decision
    data = json.loads(analysis.outputs["comparisons"].read_text())
    assert {(p["strategy"], p["baseline"]) for p in data["paired"]} == {
        (s, b) for s, b in itertools.product(["always-cloud", "always-local", "cascade", "heuristic"],
                                             ["always-cloud", "always-local"]) if s != b}


def test_the_best_strategy_is_recommended_when_nothing_cheaper_overlaps(analyse):
    rows = (cell_rows([[True]] * 15, "always-cloud", cost_usd=0.03)
            + cell_rows([[True]] * 2 + [[False]] * 13, "always-local", cost_usd=0.0))
    analysis = analyse(rows)
    rec = analysis.recommendations[next(iter(analysis.groups))]
    assert rec.strategy == rec.best == "always-cloud"
    assert "no other strategy" in rec.reason


def test_harness_checks_are_labelled_and_never_recommended(analyse):
    rows = (cell_rows([[True]] * 3, "always-cloud", agent="oracle")
            + cell_rows([[False]] * 3, "always-cloud", agent="null", expect="fail")
            + cell_rows([[True]] * 3, "cascade", backend_kinds={"local": "embedded", "cloud": "scripted"}))
    analysis = analyse(rows, charts=True)
    assert all(c.harness_check for c in analysis.cells)
    assert all(r.strategy is None and r.harness_check for r in analysis.recommendations.values())
    summary = terminal_summary(analysis)
    assert summary.count("[harness check]") == 3
    assert "recommended" not in summary
    null_cell = next(c for c in analysis.cells if c.cell.agent == "null")
    assert null_cell.as_expected == 3  # the null agent failing is the expected result
    for name in ("summary", "decision_matrix", "report"):
        assert "harness check" in analysis.outputs[name].read_text()
    aggregate = json.loads(analysis.outputs["aggregate"].read_text())
    assert {c["label"] for c in aggregate["cells"].values()} == {"harness check"}

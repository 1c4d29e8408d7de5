"""Power before a sweep: the planner's task counts checked against simulated sweeps analysed by the
real paired comparison (``paired_delta``, the interval the report prints), and the plan command and
the report showing them."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from pytest_arena.analysis.stats.intervals import TaskResampler
from pytest_arena.analysis.stats.paired import paired_delta
from pytest_arena.analysis.stats.power import (
    TaskPairs,
    VarianceComponents,
    achieved_power,
    assumed_components,
    estimate_components,
    tasks_needed,
)
from pytest_arena.sweep.plan import _earlier_pairs
from tests.stats.rowfactory import our_row

# Kinds of task, each a (weight, pass probability of A, of B); both task sets differ by 15 pp.
# DECIDED: as coding tasks are, many both strategies solve or fail alike, some where A is a little
# better and seeds disagree, some where A solves and B is a coin. MIXED: every task in between.
DECIDED = [(0.30, 1.0, 1.0), (0.30, 0.0, 0.0), (0.25, 0.8, 0.5), (0.15, 1.0, 0.5)]
MIXED = [(0.25, 0.9, 0.7), (0.25, 0.7, 0.6), (0.25, 0.5, 0.3), (0.25, 0.4, 0.3)]
TRUE_DIFFERENCE = 0.15
SIMULATIONS = 400
MONTE_CARLO_SE = (0.8 * 0.2 / SIMULATIONS) ** 0.5  # 0.02


def draw_tasks(n: int, rng: np.random.Generator, kinds=DECIDED) -> list[tuple[float, float]]:
    weights = [w for w, _, _ in kinds]
    return [kinds[k][1:] for k in rng.choice(len(kinds), size=n, p=weights)]


def pilot_rows(n_tasks: int, seeds: int, rng: np.random.Generator, kinds=DECIDED) -> list[dict]:
    """Earlier rows, in the format the harness writes, of A ("cascade") and B ("always-cloud")."""
    rows = []
    for t, (p_a, p_b) in enumerate(draw_tasks(n_tasks, rng, kinds)):
        for s in range(seeds):
            for strategy, p in (("cascade", p_a), ("always-cloud", p_b)):
                rows.append(our_row(f"pilot/t{t:03d}", strategy, 40 + s, "pass" if rng.random() < p else "fail"))
    return rows


def detection_rate(n_tasks: int, seeds: int, rng: np.random.Generator, kinds=DECIDED) -> float:
    """How often a sweep of n_tasks × seeds, analysed as the report does, gives a paired interval
    that excludes 0."""
    resampler = TaskResampler(1000, 7)
    detected = 0
    for _ in range(SIMULATIONS):
        ours, theirs = {}, {}
        for t, (p_a, p_b) in enumerate(draw_tasks(n_tasks, rng, kinds)):
            for s in range(seeds):
                ours[(f"t{t}", str(s))] = SimpleNamespace(passed=rng.random() < p_a, cost_usd=0.0)
                theirs[(f"t{t}", str(s))] = SimpleNamespace(passed=rng.random() < p_b, cost_usd=0.0)
        interval = paired_delta(ours, theirs, resampler).delta_pass_rate
        detected += interval.lower is not None and (interval.lower > 0 or interval.upper < 0)
    return detected / SIMULATIONS


def components_from_earlier_rows(kinds):
    """Variance components the plan reads from 300 earlier tasks × 3 seeds of the two strategies."""
    rng = np.random.default_rng(2026)
    components = estimate_components(_earlier_pairs(pilot_rows(300, 3, rng, kinds), "cascade", "always-cloud"))
    assert components is not None and "900 earlier pairs on 300 tasks" in components.source
    return components


@pytest.fixture(scope="module")
def planned():
    return components_from_earlier_rows(DECIDED)


@pytest.fixture(scope="module")
def planned_mixed():
    return components_from_earlier_rows(MIXED)


def test_the_earlier_rows_give_the_variance_between_and_within_tasks(planned):
    # the truth of DECIDED: within = E[pA(1-pA) + pB(1-pB)] = 0.14, between = Var(pA - pB) = 0.0375
    assert planned.within == pytest.approx(0.14, abs=0.02)
    assert planned.between == pytest.approx(0.0375, abs=0.015)


@pytest.mark.parametrize("seeds", [1, 3])
def test_sweeps_of_the_planned_size_detect_the_difference_with_the_stated_power(planned_mixed, seeds):
    n = tasks_needed(TRUE_DIFFERENCE, planned_mixed, seeds)
    assert n is not None and 40 < n < 200
    simulated = detection_rate(n, seeds, np.random.default_rng(seeds), MIXED)
    assert simulated == pytest.approx(0.80, abs=3 * MONTE_CARLO_SE + 0.02)


@pytest.mark.parametrize("seeds", [1, 3, 5])
def test_where_many_tasks_are_decided_the_plan_errs_on_the_side_of_more_tasks(planned, seeds):
    # Tasks that both strategies always pass or always fail skew the task means; the interval then
    # excludes 0 more often than the normal approximation says: never less often.
    n = tasks_needed(TRUE_DIFFERENCE, planned, seeds)
    assert n is not None and 15 < n < 120
    simulated = detection_rate(n, seeds, np.random.default_rng(seeds))
    assert 0.80 - 3 * MONTE_CARLO_SE <= simulated <= 0.97


def test_half_the_planned_tasks_fall_short_as_the_planner_predicts(planned_mixed):
    n = tasks_needed(TRUE_DIFFERENCE, planned_mixed, 2) // 2
    predicted = achieved_power(TRUE_DIFFERENCE, planned_mixed, n, 2)
    simulated = detection_rate(n, 2, np.random.default_rng(11), MIXED)
    assert predicted is not None and predicted < 0.6
    assert simulated == pytest.approx(predicted, abs=4 * (predicted * (1 - predicted) / SIMULATIONS) ** 0.5 + 0.03)


def test_more_seeds_per_task_buy_fewer_tasks_only_as_far_as_seeds_disagree(planned):
    one, three, five = (tasks_needed(TRUE_DIFFERENCE, planned, m) for m in (1, 3, 5))
    assert one > three > five
    # the between-task variance is a floor that no number of seeds removes
    floor = tasks_needed(TRUE_DIFFERENCE, VarianceComponents(planned.between, 0.0, "no seed noise"), 1)
    assert five > floor
    decided = estimate_components([TaskPairs(3, 3.0, 3.0)] * 10 + [TaskPairs(3, 0.0, 0.0)] * 10)
    assert decided is not None and decided.within == 0.0  # every task decided: seeds add nothing
    assert tasks_needed(0.2, decided, 1) == tasks_needed(0.2, decided, 5)


def test_without_earlier_rows_the_stated_assumptions_apply():
    assumed = assumed_components()
    assert "assumed" in assumed.source and assumed.variance(1) == pytest.approx(0.30)
    assert estimate_components([TaskPairs(1, 1.0, 1.0)] * 4) is None  # under 5 tasks: nothing to read
    assert tasks_needed(0.10, assumed, 1) > tasks_needed(0.20, assumed, 1) > 5


def test_plan_prints_the_power_section_from_earlier_pairs(tmp_path, capsys, monkeypatch):
    from tests.core.arena_project import make_config, make_task

    make_task(tmp_path)
    make_task(tmp_path, "demo/multiplier", module="multiplier")
    make_config(tmp_path, agents=("aider",), strategies=("always-cloud", "cascade"))
    rows = pilot_rows(40, 2, np.random.default_rng(5))
    (tmp_path / "earlier.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.chdir(tmp_path)
    from pytest_arena.__main__ import main

    assert main(["plan", "arena.yaml", "--rows", "earlier.jsonl", "--power-difference", "15"]) == 0
    text = capsys.readouterr().out
    assert "cascade vs always-cloud: variance between tasks" in text and "80 earlier pairs on 40 tasks" in text
    table = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in text.splitlines() if line.startswith("| 15 pp")}
    expected = estimate_components(_earlier_pairs(rows, "cascade", "always-cloud"))
    assert table["15 pp"] == [str(tasks_needed(0.15, expected, m)) for m in (1, 2, 3, 5)]
    assert "this config, " in text and "no interval under 5 tasks" in text  # the demo project has 2 tasks

    assert main(["plan", "arena.yaml"]) == 0  # no earlier rows: the assumptions, said as such
    assert "assumed: the strategies disagree on 30% of pairs" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["plan", "arena.yaml", "--assume-discordant", "3"])
    assert "--assume-discordant 3: a share between 0 and 1" in capsys.readouterr().err


def test_the_report_shows_what_each_comparison_could_detect(analyse):
    rows = pilot_rows(30, 2, np.random.default_rng(9))
    analysis = analyse(rows)
    (comparison,) = [c for c in analysis.comparisons if c.strategy == "cascade"]
    expected = estimate_components(_earlier_pairs(rows, "cascade", "always-cloud"))
    assert comparison.power.power == pytest.approx(achieved_power(0.10, expected, 30, 2))
    data = json.loads(analysis.outputs["comparisons"].read_text())
    (entry,) = [p for p in data["paired"] if p["strategy"] == "cascade"]
    assert entry["power"]["power_at_10pp"] == pytest.approx(comparison.power.power)
    summary = analysis.outputs["summary"].read_text()
    assert "power at ±10 pp" in summary and f"{comparison.power.power:.0%}" in summary
    few = analyse(pilot_rows(3, 2, np.random.default_rng(9)))
    assert all(c.power.power is None for c in few.comparisons)

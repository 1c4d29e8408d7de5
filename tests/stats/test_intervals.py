"""Pass-rate intervals against independent, hand-checked computations.

The clustered bootstrap resamples tasks. For a cell whose tasks are either "all seeds pass" or
one known mix, the resampled pass rate is a simple function of a binomial count, so the exact
bootstrap distribution (and its quantiles) can be written down without the code under test.
The quantile levels come from Student's t table values typed in here (expanded percentile).
"""
import math
from statistics import NormalDist

import pytest

from pytest_arena.analysis.stats.intervals import expanded_tail, student_t_quantile, wilson_interval

from .rowfactory import cell_rows

Z = 1.959963984540054
# Student's t 0.975 quantiles from a printed table.
T_TABLE = {1: 12.7062, 3: 3.182446, 7: 2.364624, 9: 2.262157, 11: 2.200985, 29: 2.045230}


def table_tail(n_tasks):
    return NormalDist().cdf(-math.sqrt(n_tasks / (n_tasks - 1)) * T_TABLE[n_tasks - 1])


def binomial_quantile(n, p, level):
    """Smallest k with P(X <= k) >= level, X ~ Binomial(n, p)."""
    cumulative = 0.0
    for k in range(n + 1):
        cumulative += math.comb(n, k) * p ** k * (1 - p) ** (n - k)
        if cumulative >= level:
            return k
    return n


def cell_of(analysis, strategy):
    (stats,) = [c for c in analysis.cells if c.cell.strategy == strategy]
    return stats


@pytest.mark.parametrize("dof", sorted(T_TABLE))
def test_student_t_quantile_matches_the_printed_table(dof):
    assert student_t_quantile(0.975, dof) == pytest.approx(T_TABLE[dof], abs=5e-6)


@pytest.mark.parametrize("k, n, lower, upper", [
    (5, 10, 0.2366, 0.7634),  # textbook values for the Wilson score interval
    (0, 10, 0.0, 0.2775),
    (12, 12, 12 / (12 + Z * Z), 1.0),  # all pass: lower bound n / (n + z^2)
    (0, 12, 0.0, Z * Z / (12 + Z * Z)),
])
def test_wilson_interval_known_values(k, n, lower, upper):
    got = wilson_interval(k / n, n)
    assert got == pytest.approx((lower, upper), abs=1e-4)


def test_23_of_24_over_8_tasks_and_3_seeds(analyse):
    # 7 tasks pass all 3 seeds, one task passes 2 of 3. A resample that draws the mixed task k
    # times has pass rate 1 - k/24, with k ~ Binomial(8, 1/8).
    seeds = [[True] * 3] * 7 + [[True, False, True]]
    analysis = analyse(cell_rows(seeds, "cascade"))
    rate = cell_of(analysis, "cascade").pass_rate
    tail = table_tail(8)
    assert rate.point == pytest.approx(23 / 24)
    assert rate.method == "cluster-bootstrap"
    assert rate.lower == pytest.approx(1 - binomial_quantile(8, 1 / 8, 1 - tail) / 24)  # = 20/24
    assert rate.lower == pytest.approx(20 / 24)
    assert rate.upper == 1.0


def test_8_of_12_one_seed_each(analyse):
    seeds = [[True]] * 8 + [[False]] * 4
    analysis = analyse(cell_rows(seeds, "heuristic"))
    rate = cell_of(analysis, "heuristic").pass_rate
    tail = table_tail(12)
    assert rate.point == pytest.approx(8 / 12)
    assert rate.lower == pytest.approx(binomial_quantile(12, 8 / 12, tail) / 12)  # = 4/12
    assert rate.upper == pytest.approx(binomial_quantile(12, 8 / 12, 1 - tail) / 12)  # = 11/12


def test_12_of_12_gets_a_wilson_interval_not_a_point(analyse):
    analysis = analyse(cell_rows([[True]] * 12, "always-cloud"))
    rate = cell_of(analysis, "always-cloud").pass_rate
    assert rate.method == "wilson"
    assert (rate.point, rate.upper) == (1.0, 1.0)
    assert rate.lower == pytest.approx(12 / (12 + Z * Z), abs=1e-9)  # 0.7575, not the percentile's 1.0


def test_wilson_fallback_uses_tasks_not_rows(analyse):
    # 4 tasks x 3 seeds all failing: 4 independent units, not 12.
    analysis = analyse(cell_rows([[False] * 3] * 4, "always-local"))
    rate = cell_of(analysis, "always-local").pass_rate
    assert (rate.method, rate.lower, rate.point) == ("wilson", 0.0, 0.0)
    assert rate.upper == pytest.approx(Z * Z / (4 + Z * Z), abs=1e-9)


def test_expanded_tail_approaches_the_plain_level_with_many_tasks():
    assert expanded_tail(8) == pytest.approx(table_tail(8), abs=1e-7)
    assert expanded_tail(30) == pytest.approx(table_tail(30), abs=1e-7)
    assert 0.0248 < expanded_tail(2000) < 0.025


def test_the_same_rows_give_the_same_interval_and_another_seed_moves_it(analyse):
    rows = cell_rows([[True, False], [True, True], [False, False], [True, False], [True, True]] * 3, "rules")
    first = cell_of(analyse(rows, resamples=2000), "rules").pass_rate
    again = cell_of(analyse(rows, resamples=2000), "rules").pass_rate
    other = cell_of(analyse(rows, resamples=2000, seed=1), "rules").pass_rate
    assert first == again
    assert (other.lower, other.upper) != (first.lower, first.upper)


def test_other_cells_never_move_a_cells_interval(analyse):
    ours = cell_rows([[True, False], [True, True], [False, False], [True, False]] * 2, "cascade")
    others = cell_rows([[True], [False], [True]], "always-local") + cell_rows([[True]] * 5, "rules", agent="cline")
    alone = cell_of(analyse(ours, resamples=2000), "cascade").pass_rate
    together = cell_of(analyse(others + ours, resamples=2000), "cascade").pass_rate
    assert alone == together

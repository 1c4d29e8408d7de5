"""The cost–quality curve, APGR, CPT and the oracle router, checked against values computed by
hand on small row sets (the arithmetic is in each test's docstring)."""
from __future__ import annotations

import json

import pytest

from .rowfactory import our_row

# Four tasks, one seed. Per strategy: which tasks pass, cloud tokens of 1,000 per run, cost per run.
# Each task is run twice as two tasks (t1 and t1-copy, ...): every rate and share below is the
# four tasks', and eight tasks are enough for intervals (MIN_TASKS).
PLAN = {
    "always-local": ({"t1"}, 0, 0.0),
    "always-cloud": ({"t1", "t2", "t3", "t4"}, 1000, 1.0),
    "cascade@threshold=5": ({"t1", "t2", "t3"}, 500, 0.4),
    "cascade@threshold=15": ({"t1", "t2"}, 250, 0.2),
    "heuristic": ({"t1"}, 500, 0.4),
}


def _rows(plan=PLAN):
    rows = []
    for strategy, (passing, cloud, cost) in plan.items():
        for task in ("t1", "t2", "t3", "t4", "t1-copy", "t2-copy", "t3-copy", "t4-copy"):
            rows.append(our_row(task, strategy, 42, "pass" if task.removesuffix("-copy") in passing else "fail",
                                cloud_tokens=(cloud, 0), local_tokens=(1000 - cloud, 0), cost_usd=cost))
    return rows


@pytest.fixture
def curve(analyse):
    analysis = analyse(_rows(), resamples=400)
    (group,) = analysis.curves
    return analysis, group


def test_points_pgr_and_pareto(curve):
    """q_L = 1/4, q_C = 1: PGR(cascade@5) = (3/4 − 1/4) / (3/4) = 2/3, PGR(cascade@15) = 1/3.
    heuristic (1/4 at 50% cloud) is dominated by always-local (1/4 at 0%); the rest form the frontier."""
    _, g = curve
    p5, p15 = g.points["cascade@threshold=5"], g.points["cascade@threshold=15"]
    assert p5.pass_rate.point == 0.75 and p5.cloud_share.point == 0.5
    assert p5.pgr.point == pytest.approx(2 / 3) and p15.pgr.point == pytest.approx(1 / 3)
    assert p5.cost_per_solved.point == pytest.approx(1.6 / 3)  # four runs at $0.4, three solved
    assert {k for k, p in g.points.items() if p.pareto_share} == {
        "always-local", "always-cloud", "cascade@threshold=5", "cascade@threshold=15"}
    assert not g.points["heuristic"].pareto_cost
    lo, hi = p5.pass_rate.lower, p5.pass_rate.upper
    assert lo < 0.75 < hi


def test_apgr_and_cpt_of_the_swept_strategy(curve):
    """Curve (0,0) (.25,1/3) (.5,2/3) (1,1): area 1/24 + 1/8 + 5/12 = 7/12.
    CPT(50%) = .25 + (1/2 − 1/3)·.25/(1/3) = .375; CPT(80%) = .5 + (.8 − 2/3)·.5/(1/3) = .7.
    heuristic: (0,0) (.5,0) (1,1): APGR = 1/4, CPT(50%) = .75."""
    _, g = curve
    families = {f.family: f for f in g.families}
    cascade = families["cascade"]
    assert cascade.parametrised and cascade.points == ["cascade@threshold=15", "cascade@threshold=5"]
    assert cascade.apgr.point == pytest.approx(7 / 12)
    assert cascade.cpt[0.5].point == pytest.approx(0.375)
    assert cascade.cpt[0.8].point == pytest.approx(0.7)
    assert cascade.apgr.lower <= 7 / 12 <= cascade.apgr.upper and cascade.apgr.method == "cluster-bootstrap"
    heuristic = families["heuristic"]
    assert not heuristic.parametrised
    assert heuristic.apgr.point == pytest.approx(0.25) and heuristic.cpt[0.5].point == pytest.approx(0.75)


def test_oracle_router_and_gaps(curve):
    """Cheapest passing run per task: t1 always-local ($0), t2 cascade@15 ($0.2), t3 cascade@5 ($0.4),
    t4 always-cloud ($1): pass 1, cost 1.6/4 = $0.4, cloud share (0 + 250 + 500 + 1000)/4000."""
    _, g = curve
    o = g.oracle
    assert o.pass_rate.point == 1.0 and o.cost_mean.point == pytest.approx(0.4)
    assert o.cost_per_solved.point == pytest.approx(0.4)
    assert o.cloud_share.point == pytest.approx(1750 / 4000)
    assert o.picks == {"always-cloud": 2, "always-local": 2, "cascade@threshold=15": 2, "cascade@threshold=5": 2}
    p5 = g.points["cascade@threshold=5"]
    assert p5.oracle_gap_pass.point == pytest.approx(-0.25) and p5.oracle_gap_cost.point == pytest.approx(0)
    assert g.points["always-cloud"].oracle_gap_cost.point == pytest.approx(0.6)
    assert p5.oracle_gap_pass.upper <= 0  # the oracle is never worse on any resample


def test_curve_json_and_summary(curve, tmp_path):
    analysis, _ = curve
    data = json.loads((tmp_path / "out" / "curve.json").read_text())
    assert data["schema"] == "pytest-arena/curve"
    (group,) = data["groups"].values()
    (cascade,) = [f for f in group["families"] if f["family"] == "cascade"]
    assert cascade["apgr"]["point"] == pytest.approx(7 / 12) and cascade["cpt_80"]["point"] == pytest.approx(0.7)
    assert group["oracle"]["picks"]["always-local"] == 2
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Cost–quality curve" in summary and "cascade@threshold=15, cascade@threshold=5" in summary
    assert "0.58 [" in summary  # APGR with its interval


def test_without_anchors_there_is_no_apgr_but_an_oracle(analyse):
    rows = [r for r in _rows() if r["router_strategy"] != "always-local"]
    (g,) = analyse(rows, resamples=200).curves
    assert not g.has_anchors and g.families == []
    assert g.points["cascade@threshold=5"].pgr.point is None
    assert g.oracle.pass_rate.point == 1.0


def test_tied_anchors_leave_pgr_undefined(analyse):
    plan = {"always-local": ({"t1"}, 0, 0.0), "always-cloud": ({"t1"}, 1000, 1.0), "cascade": ({"t1"}, 500, 0.5)}
    (g,) = analyse(_rows(plan), resamples=200).curves
    assert g.points["cascade"].pgr.point is None and g.families == []


def test_curve_chart_is_drawn_when_matplotlib_is_there(analyse, tmp_path):
    pytest.importorskip("matplotlib")
    analysis = analyse(_rows(), resamples=200, charts=True)
    assert analysis.outputs["curve"].name == "curve.png" and analysis.outputs["curve"].stat().st_size > 10_000

"""Legacy mode reproduces the original project's i.i.d. row bootstrap exactly.

The reference below is a deliberately plain re-implementation of the algorithm as ORIGINAL.md 7.2
describes it: one random.Random(42), error rows dropped, cells in first-appearance order, per
resample a list of rows drawn with rng.randrange(n), metrics recomputed on every resample (row
costs re-priced each time), percentile by linear interpolation at q*(m-1).
"""
import json
import math
import random
import statistics

import pytest

from .rowfactory import original_row, write_jsonl

GPT55 = (5.0, 30.0, 0.5)  # input, output, cache_read per 1M tokens (ORIGINAL.md 6.2)


def reference_cost(row):
    t = row["tokens"]
    cp, cc, lp, lc = t["cloud_prompt"], t["cloud_completion"], t["local_prompt"], t["local_completion"]
    if cp == cc == lp == lc == 0:
        cp, cc = t["prompt"], t["completion"]
    cached = min(t["cached"], cp)
    rate_in, rate_out, rate_cached = GPT55
    return max(0, cp - cached) * rate_in / 1e6 + cached * rate_cached / 1e6 + cc * rate_out / 1e6


def reference_metrics(sample):
    graded = [r["quality"]["functional_pass"] for r in sample if r["quality"]["functional_pass"] is not None]
    cloud = sum(r["tokens"]["cloud_prompt"] + r["tokens"]["cloud_completion"] for r in sample)
    split = cloud + sum(r["tokens"]["local_prompt"] + r["tokens"]["local_completion"] for r in sample)
    walls = [r["latency"]["wall_ms"] for r in sample if r["latency"]["wall_ms"] is not None]
    return {
        "pass_rate": sum(graded) / len(graded) if graded else None,
        "cost_usd": statistics.median([reference_cost(r) for r in sample]),
        "cloud_fraction": cloud / split if split else None,
        "wall_ms": statistics.median(walls) if walls else None,
    }


def reference_percentile(values, q):
    """numpy's default "linear" percentile (the original calls numpy), written out to the last bit:
    virtual index n*q + (alpha + q*(1 - alpha - beta)) - 1 with alpha = beta = 1, and the
    interpolation taken from the upper neighbour when its weight is at least 0.5."""
    ordered = sorted(values)
    n = len(ordered)
    position = n * q + (1 + q * (1 - 1 - 1)) - 1
    low = math.floor(position)
    high = min(low + 1, n - 1)
    a, b, t = ordered[low], ordered[high], position - low
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def reference_bootstrap(rows):
    rng = random.Random(42)
    cells = {}
    for row in rows:
        if row.get("error"):
            continue
        key = "::".join("none" if row.get(f) is None else str(row.get(f))
                       for f in ("category", "route", "router_strategy"))
        cells.setdefault(key, []).append(row)
    out = {}
    for key, members in cells.items():
        n = len(members)
        point = reference_metrics(members)
        draws = [reference_metrics([members[rng.randrange(n)] for _ in range(n)]) for _ in range(1000)]
        out[key] = {"n_rows": n}
        for metric, value in point.items():
            kept = [d[metric] for d in draws if d[metric] is not None]
            out[key][metric] = {
                "point": value,
                "ci_lower": reference_percentile(kept, 0.025) if kept else None,
                "ci_upper": reference_percentile(kept, 0.975) if kept else None,
            }
    return out


def mixed_original_rows():
    """Three cells in v1.4.0-style data (A/D categories, null seeds), with error rows, an
    ungraded row, a null strategy, cached tokens and varied sizes."""
    rng = random.Random(7)
    rows = []
    for i in range(45):
        category, route, strategy = [("D", "cline", "cascade"), ("A", "aider", "heuristic"),
                                     ("D", "cline", None), ("D", "cline", "")][i % 4]
        error = "cline_exit_1" if i % 11 == 5 else ("agent_timeout_900s" if i % 13 == 7 else None)
        functional_pass = None if i == 10 else rng.random() < 0.7
        rows.append(original_row(
            f"real-dev/d{i % 6}", strategy, functional_pass, category=category, route=route, error=error,
            cloud_tokens=(rng.randrange(0, 9000), rng.randrange(0, 2000)),
            local_tokens=(rng.randrange(0, 30000), rng.randrange(0, 5000)),
            cached=rng.randrange(0, 4000), wall_ms=rng.randrange(10_000, 200_000)))
    rows[20]["tokens"].update(local_prompt=0, local_completion=0, cloud_prompt=0, cloud_completion=0)
    return rows


def test_legacy_matches_a_plain_reimplementation_of_the_original(analyse):
    rows = mixed_original_rows()
    expected = reference_bootstrap(json.loads(json.dumps(rows)))
    legacy = analyse(rows, legacy=True, resamples=200).legacy
    assert list(legacy["cells"]) == list(expected) == [
        "D::cline::cascade", "A::aider::heuristic", "D::cline::none", "D::cline::"]
    assert (legacy["schema_version"], legacy["n_resamples"], legacy["rng_seed"]) == ("2.0", 1000, 42)
    for key, cell in expected.items():
        ours = legacy["cells"][key]
        assert ours["n_rows"] == cell["n_rows"]
        for metric in ("pass_rate", "cloud_fraction", "wall_ms"):
            assert ours[metric] == cell[metric], (key, metric)  # bit for bit
        # Costs: same numbers; the last binary digit may differ because router/pricing.py sums
        # the three terms before dividing by 1e6 while the original divided each term.
        for field in ("point", "ci_lower", "ci_upper"):
            assert ours["cost_usd"][field] == pytest.approx(cell["cost_usd"][field], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("passes, errors, expected", [
    ([True] * 23 + [False], 0, (0.9583, 0.875, 1.0)),  # published "96% [88, 100]"
    ([True] * 8 + [False] * 4, 0, (0.6667, 0.4167, 0.9167)),
    ([True] * 8 + [False] * 1, 3, (0.8889, 0.6667, 1.0)),  # 8/12 with 3 error rows becomes 8/9
    ([True] * 12, 0, (1.0, 1.0, 1.0)),  # the degenerate interval the original published
])
def test_legacy_reproduces_the_originals_sanity_results(analyse, passes, errors, expected):
    rows = [original_row(f"real-dev/d{i}", "cascade", p) for i, p in enumerate(passes)]
    rows += [original_row(f"real-dev/e{i}", "cascade", None, error="cline_exit_1") for i in range(errors)]
    cell = analyse(rows, legacy=True, resamples=200).legacy["cells"]["D::cline::cascade"]
    rate = cell["pass_rate"]
    assert (round(rate["point"], 4), round(rate["ci_lower"], 4), round(rate["ci_upper"], 4)) == expected


def test_cli_writes_the_legacy_file_beside_ours(tmp_path):
    from pytest_arena.analysis.analyze import main
    write_jsonl(tmp_path / "run" / "raw.jsonl", mixed_original_rows())
    assert main([str(tmp_path / "run"), "--legacy", "--no-charts", "--resamples", "500"]) == 0
    legacy = json.loads((tmp_path / "run" / "bootstrap_cis_legacy.json").read_text())
    assert legacy["cells"]["A::aider::heuristic"]["pass_rate"]["ci_lower"] is not None
    assert "Legacy" in (tmp_path / "run" / "summary.md").read_text()

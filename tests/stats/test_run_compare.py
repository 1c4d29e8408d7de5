"""analyze A B --compare: two runs side by side; without it, the same cells in two folders pool as
repeats and the user is told so (real files, the CLI as a subprocess)."""
import json
import subprocess
import sys

import pytest

from .rowfactory import cell_rows, our_row, write_jsonl


def run(strategy_passes: dict[str, list[bool]], costs: dict[str, float]) -> list[dict]:
    return [row for strategy, passes in strategy_passes.items()
            for row in cell_rows([[p] for p in passes], strategy, cost_usd=costs[strategy])]


def analyze(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pytest_arena", "analyze", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture
def runs(tmp_path):
    # A: cascade passes 4 of 8; B (say, a larger output cap): 7 of 8, at a higher cost
    a = run({"cascade": [True] * 4 + [False] * 4, "always-cloud": [True] * 7 + [False]},
            {"cascade": 0.010, "always-cloud": 0.030})
    b = run({"cascade": [True] * 7 + [False], "always-cloud": [True] * 7 + [False]},
            {"cascade": 0.012, "always-cloud": 0.030})
    a.append(our_row("real-dev/only-a", "cascade", 40, "pass"))
    b[0] = {**b[0], "outcome": "infra_error", "error": "infra_error: router down"}  # cascade t00 drops out
    write_jsonl(tmp_path / "A" / "raw.jsonl", a)
    write_jsonl(tmp_path / "B" / "raw.jsonl", b)
    return tmp_path


def test_compare_shows_the_delta_per_cell_group_and_overall(runs):
    result = analyze(runs / "A", runs / "B", "--compare", "--out", runs / "cmp", "--resamples", "2000", cwd=runs)
    assert result.returncode == 0, result.stderr
    data = json.loads((runs / "cmp" / "compare.json").read_text())
    scopes = {s["title"].rsplit(" · ", 1)[-1]: s for s in data["scopes"]}
    cascade, cloud, group, overall = (scopes["cascade"], scopes["always-cloud"], scopes["all strategies"],
                                      scopes["overall"])
    # cascade: 7 pairs (t00 was infra_error in B); A passed t00..t03, B t00..t06: +3 of 7 (t04..t06)
    assert (cascade["n_pairs"], cascade["wins"], cascade["ties"], cascade["losses"]) == (7, 3, 4, 0)
    assert cascade["delta_pass_rate"]["point"] == pytest.approx(3 / 7)
    assert cascade["delta_cost_usd"]["point"] == pytest.approx(0.002)
    assert 0 <= cascade["delta_pass_rate"]["ci_lower"] < 3 / 7 < cascade["delta_pass_rate"]["ci_upper"]  # no loss
    assert cloud["delta_pass_rate"]["point"] == 0 and cloud["delta_cost_usd"]["point"] == pytest.approx(0)
    assert group["n_pairs"] == overall["n_pairs"] == 15 and overall["wins"] == 3
    assert (data["only_in_a"], data["only_in_b"]) == (2, 0)  # only-a, and A's cascade t00 whose partner failed
    changed = [p for p in data["pairs"] if p["outcome_a"] != p["outcome_b"]]
    assert {p["task_id"] for p in changed} == {"real-dev/t04", "real-dev/t05", "real-dev/t06"}
    md = (runs / "cmp" / "compare.md").read_text()
    assert "## Cells whose outcome changed (3 of 15)" in md and "+42.9 pp [" in md
    assert "overall" in result.stdout and "+42.9 pp [" in result.stdout and "compare.md" in result.stdout


def test_without_compare_the_same_cells_in_two_folders_pool_as_repeats_and_say_so(runs):
    result = analyze(runs / "A", runs / "B", "--out", runs / "pooled", "--resamples", "500", "--no-charts", cwd=runs)
    assert result.returncode == 0, result.stderr
    assert f"{runs / 'A' / 'raw.jsonl'} and {runs / 'B' / 'raw.jsonl'} both have 16 cell(s)" in result.stderr
    assert "pooled as repeats" in result.stderr and "--compare" in result.stderr
    cells = json.loads((runs / "pooled" / "aggregate.json").read_text())["cells"]
    cascade = cells["refactors::aider::cascade::qwen3.6:35b::gpt-5.5"]
    assert cascade["n_rows"] == 8 + 1 + 8 and cascade["seeds"] == ["40", "40/r2"]


def test_compare_needs_two_runs_and_says_when_there_are_too_few_pairs(tmp_path):
    write_jsonl(tmp_path / "A" / "raw.jsonl", [our_row("real-dev/a", "cascade", 1, "fail")])
    write_jsonl(tmp_path / "B" / "raw.jsonl", [our_row("real-dev/a", "cascade", 1, "pass")])
    one = analyze(tmp_path / "A", "--compare", cwd=tmp_path)
    assert one.returncode == 2 and "exactly two runs" in one.stderr
    few = analyze(tmp_path / "A", tmp_path / "B", "--compare", "--out", tmp_path / "c", cwd=tmp_path)
    assert few.returncode == 0, few.stderr
    assert "+100.0 pp, too few pairs (n=1 on 1 task" in few.stdout and "[+100.0, +100.0]" not in few.stdout


def test_compare_names_the_pairs_measured_with_another_agent_version(runs):
    b_path = runs / "B" / "raw.jsonl"
    rows = [json.loads(line) for line in b_path.read_text().splitlines()]
    for row in rows:
        if row["router_strategy"] == "cascade":
            row["agent_version"] = "1.1"  # the agent was upgraded before B's cascade cells ran
    write_jsonl(b_path, rows)
    result = analyze(runs / "A", runs / "B", "--compare", "--out", runs / "cmp", "--resamples", "500", cwd=runs)
    assert result.returncode == 0, result.stderr
    agent = rows[0]["route"]
    line = f"7 pair(s) measured with different agent versions ({agent} 1.0 → 1.1)"  # cascade's 7 pairs
    assert line in result.stdout
    assert f"- {line}" in (runs / "cmp" / "compare.md").read_text()
    pairs = json.loads((runs / "cmp" / "compare.json").read_text())["pairs"]
    assert {(p["strategy"], p["agent_version_a"], p["agent_version_b"]) for p in pairs} == {
        ("cascade", "1.0", "1.1"), ("always-cloud", "1.0", "1.0")}

    same = analyze(runs / "A", runs / "A", "--compare", "--out", runs / "same", "--resamples", "200", cwd=runs)
    assert "0 pair(s) measured with different agent versions" in same.stdout

"""The analyze command on real files, as a user runs it (a real subprocess)."""
import base64
import csv
import json
import re
import subprocess
import sys

from .rowfactory import cell_rows, original_row, write_jsonl


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pytest_arena.analysis.analyze", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_analyze_writes_every_output_and_they_parse(tmp_path):
    ours = (cell_rows([[True, True], [True, False], [False, False], [True, True]], "always-cloud", cost_usd=0.03)
            + cell_rows([[True, False], [False, False], [False, False], [True, True]], "always-local", cost_usd=0.0)
            + cell_rows([[True, True], [True, False], [False, True], [True, True]], "cascade", cost_usd=0.01))
    write_jsonl(tmp_path / "runA" / "raw.jsonl", ours[:10] + ["not json at all"])
    write_jsonl(tmp_path / "runB" / "raw.jsonl", ours[10:] + [original_row("real-dev/d1", "cascade", True)])
    out = tmp_path / "report"
    result = run_cli(tmp_path / "runA", tmp_path / "runB", "--out", out, "--resamples", "2000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / 'runA' / 'raw.jsonl'}:11: skipped line: not valid JSON" in result.stderr
    # 4 tasks: below the minimum, and always-local's 3/8 overlaps only through the width of the intervals
    assert re.search(r"^not enough evidence: need about 23 more tasks — always-local 37.5% .*about 27 tasks",
                     result.stdout, re.MULTILINE)
    assert "◀ recommended" not in result.stdout

    for name in ("aggregate", "bootstrap_cis", "comparisons"):
        data = json.loads((out / f"{name}.json").read_text())
        assert data["schema"] == f"pytest-arena/{name}" and data["schema_version"] == 1
    cis = json.loads((out / "bootstrap_cis.json").read_text())
    cell = cis["cells"]["refactors::aider::cascade::qwen3.6:35b::gpt-5.5"]
    assert cell["n_tasks"] == 4 and cell["pass_rate"]["point"] == 6 / 8
    assert cell["pass_rate"]["ci_lower"] < 0.75 < cell["pass_rate"]["ci_upper"]
    with (out / "cost_by_scenario.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 4 * 10  # 4 cells (one original) x 10 scenarios
    for name in ("summary.md", "decision_matrix.md"):
        assert "cascade" in (out / name).read_text()
    for chart in ("pareto.png", "heatmap.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    inlined = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(inlined) == 3 and base64.b64decode(inlined[0])[:4] == b"\x89PNG"
    assert "not valid JSON" in html


def test_no_charts_skips_the_pictures(tmp_path):
    write_jsonl(tmp_path / "raw.jsonl", cell_rows([[True], [False]], "cascade"))
    result = run_cli(tmp_path / "raw.jsonl", "--no-charts", "--resamples", "500", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "report.html").exists() and not (tmp_path / "pareto.png").exists()


def test_user_errors_end_in_one_clear_message(tmp_path):
    write_jsonl(tmp_path / "a" / "raw.jsonl", cell_rows([[True]], "cascade"))
    write_jsonl(tmp_path / "b" / "raw.jsonl", cell_rows([[True]], "cascade"))
    several = run_cli(tmp_path / "a", tmp_path / "b", cwd=tmp_path)
    assert several.returncode == 2 and "--out DIR" in several.stderr and "Traceback" not in several.stderr
    empty = run_cli(tmp_path / "missing", cwd=tmp_path)
    assert empty.returncode == 2 and "no result rows found" in empty.stderr and "no such file" in empty.stderr
    few = run_cli(tmp_path / "a", "--resamples", "10", cwd=tmp_path)
    assert few.returncode == 2 and "at least 100" in few.stderr

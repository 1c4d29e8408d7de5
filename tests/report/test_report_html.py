"""report.html and the cell pages as files: what they say, what they link, what they never run.
(What a person sees in a browser: test_report_browser.py.)"""
import re
import shutil
from html.parser import HTMLParser

import pytest

from pytest_arena.analysis.analyze import AnalysisOptions, load_rows, run_analysis
from pytest_arena.analysis.report.charts import pareto_chart, strategy_styles
from tests.stats.rowfactory import cell_rows

from .results_folder import HOSTILE, OLD_RUN, PLAN


class _Tables(HTMLParser):
    """Cell texts of each table by id, and every link."""

    def __init__(self):
        super().__init__()
        self.tables, self.links, self._table, self._row, self._cell = {}, [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self.links.append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(path):
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_the_answer_comes_first_then_the_facts_that_produced_it(report_dir):
    text = (report_dir / "report.html").read_text()
    assert text.index('id="decision"') < text.index("Run facts") < text.index('id="cells"')
    decision = _parse(report_dir / "report.html").tables["decision"]
    header, *rows = decision
    assert header[:5] == ["class", "agent", "local model", "cloud model", "recommended"]
    assert {(r[0], r[1]) for r in rows} == {("refactors", "aider"), ("puzzles", "mini-swe-agent")}
    refactors = next(r for r in rows if r[0] == "refactors")
    # 4-5 tasks with always-cloud 87.5% against cascade 66.7%: the stats' answer, not a pick
    assert re.fullmatch(r"not enough evidence: need about \d+ more tasks\s*leading: always-cloud", refactors[4])
    assert refactors[5].startswith("87.5% [") and refactors[6] == "$0.0162"
    assert "not enough evidence" not in refactors[7]  # said once, in its column
    for fact in ("configs/demo.yaml (sha abc, variant test)", "aider 1.0 (25 runs); mini-swe-agent 1.0 (6 runs)",
                 "qwen3.6:35b (ollama)", "gpt-5.5 (openai)", "agent bwrap, tests bwrap",
                 "2026-11-27T10:00:00+00:00 to 2026-11-27T10:30:40+00:00 (UTC)"):
        assert fact in text


def test_every_run_links_to_its_own_page(report_dir):
    parsed = _parse(report_dir / "report.html")
    runs = parsed.tables["runs"][1:]
    assert len(runs) == sum(len(seeds) for *_, passes in PLAN for seeds in passes) + 1
    pages = [link for link in parsed.links if link.startswith("report/cells/")]
    assert len(pages) == len(runs) and all((report_dir / p).is_file() for p in pages)
    page = _parse(report_dir / "report/cells/demo-0000.html")
    assert "../../report.html" in page.links and "../../cells/demo-0000/patch.diff" in page.links


def test_agent_markup_is_shown_as_text_everywhere(report_dir):
    pages = [report_dir / "report.html", *sorted((report_dir / "report/cells").glob("*.html"))]
    for path in pages:
        text = path.read_text()
        assert HOSTILE not in text and "<img src=x" not in text, path
        assert text.count("<script>") <= (1 if path.name == "report.html" else 0), path  # the filters' own
    failing = (report_dir / "report/cells/demo-0005.html").read_text()
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in failing
    assert "script-src 'none'" in failing  # and the page forbids scripts should escaping ever slip


def test_a_page_tells_the_cells_story(report_dir):
    text = (report_dir / "report/cells/demo-0019.html").read_text()  # refactors · aider · cascade, a fail
    assert "1 of the task's 2 test(s) did not pass" in text and "test_slug.py::test_spaces" in text
    assert "test_planted_must_fail" not in text.split("<details>")[0]  # the scorer's check is no task failure
    assert '<span class="diff-add">+    return text.lower()</span>' in text
    assert re.search(r'class="side side-local">LOCAL</span> qwen3.6:35b', text)
    assert re.search(r'class="side side-cloud">CLOUD</span> gpt-5.5', text)
    assert text.count("Answer from the cloud model") == 1  # the compressed body, decoded
    assert "cascade: local answer scored 3 &lt; threshold 7, escalated" in text
    assert "2 agent call(s): 1 local, 1 cloud; from calls.jsonl and transcript.jsonl" in text


def test_a_passing_run_lists_no_failing_test(report_dir):
    text = (report_dir / "report/cells/demo-0000.html").read_text()
    assert "none: 2/2 of the task's tests passed" in text


def test_an_older_cell_folder_still_gets_a_page(report_dir):
    text = (report_dir / f"report/cells/{OLD_RUN}.html").read_text()
    assert "no patch.diff in this cell folder" in text
    assert "from the results folder&#x27;s ledger (this cell folder has no calls.jsonl)" in text
    assert text.count('class="side side-local">LOCAL') == 1 and text.count('class="side side-cloud">CLOUD') == 1
    assert "test_slug.py::test_spaces" in text and "the scorer&#x27;s planted failing test may be among them" in text


def test_a_reanalysis_drops_pages_of_runs_it_no_longer_has(report_dir, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(report_dir, copy)
    rows, _ = load_rows([copy])
    run_analysis([r for r in rows if r["run_id"] != "demo-0001"], copy, AnalysisOptions(resamples=200, charts=False))
    assert not (copy / "report/cells/demo-0001.html").exists() and (copy / "report/cells/demo-0002.html").exists()
    assert "demo-0001" not in (copy / "report.html").read_text()


def test_pareto_chart_tells_strategies_apart_also_in_harness_checks(tmp_path):
    pytest.importorskip("matplotlib", reason="charts need matplotlib (pip install -e '.[charts]')")
    from PIL import Image  # matplotlib's own dependency

    strategies = ["always-cloud", "always-local", "cascade"]
    rows = [row for i, name in enumerate(strategies)
            for row in cell_rows([[True], [i > 0], [i > 1]], name, agent="oracle", cost_usd=0.01 * i)]
    analysis = run_analysis(rows, tmp_path / "out", AnalysisOptions(resamples=200, charts=False))
    image = Image.open(pareto_chart(analysis, tmp_path / "pareto.png")).convert("RGB")
    colours = {pixel for _, pixel in image.getcolors(maxcolors=1 << 24)}
    styles = strategy_styles(strategies)
    assert len({marker for _, marker in styles.values()}) == 3
    for colour, _ in styles.values():
        rgb = tuple(round(255 * c) for c in colour[:3])
        assert any(all(abs(a - b) <= 3 for a, b in zip(rgb, pixel)) for pixel in colours), rgb


def test_with_enough_evidence_the_table_names_the_pick(tmp_path):
    tasks = [[True, True]] * 12
    rows = (cell_rows(tasks, "always-cloud", cost_usd=0.03) + cell_rows(tasks, "cascade", cost_usd=0.01)
            + cell_rows([[False, False]] * 12, "always-local", cost_usd=0.0))
    run_analysis(rows, tmp_path, AnalysisOptions(resamples=500, charts=False))
    _, row = _parse(tmp_path / "report.html").tables["decision"]
    assert row[4] == "cascade" and row[5].startswith("100.0% [") and row[6] == "$0.0100"
    assert "cascade" in row[7] and "not enough evidence" not in row[7]

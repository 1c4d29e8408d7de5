import pytest

from pytest_arena.analysis.analyze import AnalysisOptions, run_analysis


@pytest.fixture
def analyse(tmp_path):
    """Run the full analysis on rows in memory, writing outputs under tmp_path/out."""
    def run(rows, **options):
        options.setdefault("charts", False)
        return run_analysis(rows, tmp_path / "out", AnalysisOptions(**options))
    return run

import pytest

from pytest_arena.analysis.analyze import AnalysisOptions, load_rows, run_analysis

from .results_folder import build_results


@pytest.fixture(scope="package")
def report_dir(tmp_path_factory):
    """A finished sweep's folder after its analysis: report.html and report/cells/ written by
    the real analysis over the folder's raw.jsonl (charts included)."""
    results = build_results(tmp_path_factory.mktemp("sweep"))
    rows, warnings = load_rows([results])
    run_analysis(rows, results, AnalysisOptions(resamples=500), warnings)
    return results

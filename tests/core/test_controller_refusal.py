"""The controller never lets one cell's hand-off end the session: when what a cell handed over
cannot be stored, that cell gets an infra_error row saying why, and every other cell keeps its
row, in one process and under xdist."""
from __future__ import annotations

import json
import textwrap

import pytest

from .arena_project import TEST_AGENTS_CONFTEST, make_config, make_task

# In the project's conftest: storing the multiplier task's cells fails, as an unforeseen error would.
FAILING_STORE = textwrap.dedent("""

    from pytest_arena.cell import results as _results

    _accept = _results.ResultsStore.accept


    def _failing_accept(self, payload, **kwargs):
        if '"demo/multiplier"' in payload:
            raise OSError("disk full (planted)")
        return _accept(self, payload, **kwargs)


    _results.ResultsStore.accept = _failing_accept
""")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_cell_that_cannot_be_stored_gets_an_infra_error_row_and_the_others_keep_theirs(pytester, workers):
    make_task(pytester.path)
    make_task(pytester.path, "demo/multiplier", module="multiplier")
    pytester.makeconftest(TEST_AGENTS_CONFTEST + FAILING_STORE)
    make_config(pytester.path, agents=("oracle",))
    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider", *workers)
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert "pytest-arena summary" in output  # the session ran to its end
    rows = {row["task_id"]: row
            for row in map(json.loads, (pytester.path / "results/demo/raw.jsonl").read_text().splitlines())}
    assert rows["demo/adder"]["outcome"] == "pass"
    refused = rows["demo/multiplier"]
    assert refused["outcome"] == "infra_error"
    assert refused["error"].startswith("the controller could not store this cell's results "
                                       "(OSError: disk full (planted))")
    assert result.ret == pytest.ExitCode.TESTS_FAILED

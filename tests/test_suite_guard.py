"""The suite's guard (tests/suite_guard.py) in a throwaway project: a session whose report
machinery was replaced, or whose tests left a process running, fails and says why, alone and under
xdist. The attack files are data in tests/suite_guard_files/; only the inner pytest imports them."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "suite_guard_files"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # so that the inner pytest can load tests.suite_guard
    return pytester


def _copy(pytester: pytest.Pytester, *names: str) -> None:
    for name in names:
        shutil.copy(FILES / name, pytester.path / name)


def test_without_the_guard_the_flip_really_turns_a_failure_into_a_pass(project):
    """The control: the attack works, so the guard's tests below are not passing by accident."""
    _copy(project, "flip_reports.py", "test_flipped.py")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*2 passed*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_replaced_report_machinery_fails_the_session_and_names_what_changed(project, workers):
    _copy(project, "flip_reports.py", "test_flipped.py")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena", "-p", "tests.suite_guard",
                                          *workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "TestReport.from_item_and_call was replaced" in output
    assert "flip_reports.py" in output  # where the replacement was defined
    assert "the suite guard failed this session" in output


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_process_a_test_left_running_fails_the_session_and_is_ended(project, workers):
    _copy(project, "test_leaves_processes.py")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena", "-p", "tests.suite_guard",
                                          *workers)
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "2 passed" in output  # the tests themselves passed: the guard failed the session
    assert "a process outlived the tests that started it (killed): pid" in output
    assert "sleep 307" in output and "sleep 308" in output  # the detached one and the orphaned one
    assert not [p for p in Path("/proc").glob("[0-9]*/cmdline") if p.read_bytes() in (b"sleep\x00307\x00",
                                                                                      b"sleep\x00308\x00")]


def test_a_clean_session_passes_under_the_guard(project):
    project.makepyfile(test_clean="def test_ok():\n    assert True\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena", "-p", "tests.suite_guard")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()

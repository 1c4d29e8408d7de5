"""The suite's guard (tests/suite_guard.py) in a throwaway project: a session whose report
machinery was replaced, or whose tests left a process running, fails and says why, alone and under
xdist. The attack files are data in tests/suite_guard_files/; only the inner pytest imports them."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "suite_guard_files"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # so that the inner pytest can load tests.suite_guard
    return pytester


def _copy(pytester: pytest.Pytester, *names: str) -> None:
    """Copy data files into the project; ``source:target`` renames (the test modules are kept under
    names this suite never collects)."""
    for name in names:
        source, _, target = name.partition(":")
        shutil.copy(FILES / source, pytester.path / (target or source))


def test_without_the_guard_the_flip_really_turns_a_failure_into_a_pass(project):
    """The control: the attack works, so the guard's tests below are not passing by accident."""
    _copy(project, "flip_reports.py", "flipped_tests.py:test_flipped.py")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*2 passed*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_replaced_report_machinery_fails_the_session_and_names_what_changed(project, workers):
    _copy(project, "flip_reports.py", "flipped_tests.py:test_flipped.py")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena", "-p", "tests.suite_guard",
                                          *workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "TestReport.from_item_and_call was replaced" in output
    assert "flip_reports.py" in output  # where the replacement was defined
    assert "the suite guard failed this session" in output


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_process_a_test_left_running_fails_the_session_and_is_ended(project, monkeypatch, workers):
    seconds = f"300.{uuid.uuid4().int % 10**8:08d}"  # this run's sleeps, told apart from any other's
    monkeypatch.setenv("LEFTOVER_SECONDS", seconds)
    _copy(project, "leaves_processes_tests.py:test_leaves_processes.py")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena", "-p", "tests.suite_guard",
                                          *workers)
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "2 passed" in output  # the tests themselves passed: the guard failed the session
    assert "a process outlived the tests that started it (killed): pid" in output
    leftovers = [f"sleep {seconds}1", f"sleep {seconds}2"]  # the detached one and the orphaned one
    assert all(name in output for name in leftovers), output
    assert not [pid for pid in Path("/proc").glob("[0-9]*") if _cmdline(pid) in leftovers]  # and they were ended


def _cmdline(pid: Path) -> str:
    try:
        return (pid / "cmdline").read_bytes().replace(b"\0", b" ").strip().decode(errors="replace")
    except OSError:  # gone meanwhile
        return ""


def test_a_clean_session_passes_under_the_guard(project):
    project.makepyfile(test_clean="def test_ok():\n    assert True\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:arena", "-p", "tests.suite_guard")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()

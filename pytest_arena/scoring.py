"""Score a finished workspace: restore the pristine acceptance tests, run them with pytest in a
sandbox, and read the verdict from the JUnit XML report (never from pytest's terminal output).

Against an agent that tampers with the tests: the task's test files are re-copied from the task
source, files that could change how pytest runs (conftest.py, ini files, a shadow ``pytest``
module, ``sitecustomize``) are removed unless the task itself ships them, and pytest gets our own
ini file, rootdir and confcutdir. Code the tests import runs inside the pytest process, so a
solution written to subvert pytest from within is out of reach of any of this; the sandbox still
keeps it away from the network, the task's reference solution and everything outside its folder.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from .sandbox import Limits, SandboxStartError, run_sandboxed, sandbox_kind
from .tasks import Task

# Names that change what pytest (or the interpreter) runs, wherever they appear in the tree.
PYTEST_CONTROL_FILES = frozenset({
    "conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini",
    "sitecustomize.py", "usercustomize.py", "pytest.py",
})
PYTEST_CONTROL_DIRS = frozenset({"pytest", "_pytest"})
# Never copied from the agent's workspace: stale bytecode could stand in for restored tests.
_BYTECODE_AND_CACHES = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
# Our pytest configuration: xunit1 puts file= and line= on each testcase, so ids are exact.
_PYTEST_INI = "[pytest]\njunit_family = xunit1\n"
_REASON_DETAIL_CHARS = 300
# What a refused fork() looks like in Python output (EAGAIN).
_PROCESS_CAP_SIGNS = r"BlockingIOError|Resource temporarily unavailable"


@dataclass
class ScoreResult:
    status: Literal["pass", "fail", "infra_error"]
    tests_passed: int
    tests_total: int
    reason: str
    duration_s: float
    junit_path: Path | None
    sandbox: str
    failures: list[str] = field(default_factory=list)  # ids of tests that did not pass


@dataclass(frozen=True)
class _Case:
    test_id: str  # e.g. "test_graph.py::TestSort::test_cycle[3]"
    verdict: Literal["passed", "failed", "error", "skipped"]
    detail: str  # the failure message and text, empty when passed


def prepare_scoring_dir(task: Task, agent_workspace: Path, scoring_dir: Path) -> None:
    """Copy the agent's workspace, then restore the acceptance tests from the task source.

    Whatever the agent did to the tests (edited, deleted, replaced by a symlink) is discarded, and
    pytest-control files it added are removed; those the task ships are restored too.
    """
    scoring_dir = Path(scoring_dir)
    if scoring_dir.exists() and any(scoring_dir.iterdir()):
        raise ValueError(f"scoring dir {scoring_dir} is not empty; pass a fresh folder.")
    shutil.copytree(agent_workspace, scoring_dir, symlinks=True, ignore=_not_copied,
                    dirs_exist_ok=True)
    shipped = {**_control_files(task.files("workspace")), **task.files("tests")}
    _remove_control_files(scoring_dir, keep=set(shipped))
    for rel, content in shipped.items():
        _write_pristine(scoring_dir, rel, content)


def score(task: Task, agent_workspace: Path, scoring_dir: Path, *,
          limits: Limits | None = None) -> ScoreResult:
    """Run the task's acceptance tests against ``agent_workspace`` (copied to ``scoring_dir``).

    The JUnit report and our pytest ini go to ``<scoring_dir>-report/``, outside the folder the
    tested code can write. ``pass`` needs every test to pass (a skip is not a pass) and at least
    one test; anything the tested code causes is a ``fail`` with a reason; ``infra_error`` only
    when the sandbox itself cannot start.
    """
    start = time.monotonic()
    limits = limits or Limits(wall_s=task.spec.scoring_timeout_s)
    scoring_dir = Path(scoring_dir).resolve()
    kind = sandbox_kind()
    prepare_scoring_dir(task, agent_workspace, scoring_dir)
    report_dir = scoring_dir.with_name(scoring_dir.name + "-report")
    report_dir.mkdir(parents=True, exist_ok=True)
    junit_path = report_dir / "junit.xml"
    junit_path.unlink(missing_ok=True)
    ini_path = report_dir / "pytest.ini"
    ini_path.write_text(_PYTEST_INI)
    cmd = [
        sys.executable, "-I", "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-c", str(ini_path), f"--rootdir={scoring_dir}", f"--confcutdir={scoring_dir}",
        "--continue-on-collection-errors", f"--junitxml={junit_path}",
        *_test_targets(task),
    ]
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg"}

    def result(status, passed, total, reason, failures=(), junit=None) -> ScoreResult:
        return ScoreResult(status=status, tests_passed=passed, tests_total=total, reason=reason,
                           duration_s=time.monotonic() - start, junit_path=junit, sandbox=kind,
                           failures=list(failures))

    try:
        run = run_sandboxed(cmd, workdir=scoring_dir, limits=limits, env=env,
                            writable=[report_dir], hidden=[task.root])
    except SandboxStartError as exc:
        return result("infra_error", 0, 0, str(exc))
    if run.timed_out:
        return result("fail", 0, 0, f"wall time {limits.wall_s:g} s exceeded")
    cases = _read_junit(junit_path)
    if cases is None:
        return result("fail", 0, 0, _no_report_reason(run.exit_code, run.killed_reason,
                                                     run.stderr + run.stdout, limits))
    failures = [c for c in cases if c.verdict != "passed"]
    passed, total = len(cases) - len(failures), len(cases)
    ids = [c.test_id for c in failures]
    if total == 0:
        return result("fail", 0, 0, "no tests collected", junit=junit_path)
    if failures:
        first = failures[0]
        reason = f"{passed}/{total} tests passed; {first.test_id}: {_cause(first, limits)}"
        return result("fail", passed, total, reason, ids, junit_path)
    if run.exit_code != 0:
        reason = (f"pytest exited with code {run.exit_code} although all {total} tests passed: "
                  f"{_last_line(run.stderr + run.stdout)}")
        return result("fail", passed, total, reason, junit=junit_path)
    return result("pass", passed, total, f"all {total} tests passed", junit=junit_path)


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """Bytecode, caches, and anything but files, folders and symlinks (copying a FIFO the agent
    left behind would block forever)."""
    skipped = set(_BYTECODE_AND_CACHES(folder, names))
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def _test_targets(task: Task) -> list[str]:
    """The task's test modules, as paths relative to the scoring dir."""
    modules = [rel for rel in task.test_files if rel.endswith(".py")
               and PurePosixPath(rel).name != "conftest.py"]
    named = [rel for rel in modules
             if PurePosixPath(rel).name.startswith("test_") or rel.endswith("_test.py")]
    return named or modules


def _control_files(files: dict[str, bytes]) -> dict[str, bytes]:
    return {rel: content for rel, content in files.items() if _is_control_path(rel)}


def _is_control_path(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return parts[-1] in PYTEST_CONTROL_FILES or bool(set(parts[:-1]) & PYTEST_CONTROL_DIRS)


def _remove_control_files(root: Path, keep: set[str]) -> None:
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked dirs
        here = Path(dirpath)
        for name in list(dirnames):
            rel = (here / name).relative_to(root).as_posix()
            if name in PYTEST_CONTROL_DIRS and not any(k.startswith(rel + "/") for k in keep):
                _remove(here / name)
                dirnames.remove(name)
        for name in filenames:
            rel = (here / name).relative_to(root).as_posix()
            if name in PYTEST_CONTROL_FILES and rel not in keep:
                _remove(here / name)


def _write_pristine(root: Path, rel: str, content: bytes) -> None:
    """Write a task file, never through a symlink or over a folder the agent put in its way."""
    current = root
    for part in PurePosixPath(rel).parts[:-1]:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        current.mkdir(exist_ok=True)
    target = root / rel
    if target.is_symlink() or target.exists():
        _remove(target)
    target.write_bytes(content)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _read_junit(path: Path) -> list[_Case] | None:
    """Every testcase of a pytest JUnit report (xunit1), or None when there is no readable one."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    cases = []
    for case in root.iter("testcase"):
        test_id = _test_id(case)
        outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")),
                       None)
        if outcome is None:
            cases.append(_Case(test_id, "passed", ""))
            continue
        verdict = {"failure": "failed", "error": "error", "skipped": "skipped"}[outcome.tag]
        detail = f"{outcome.get('message', '')}\n{outcome.text or ''}"
        cases.append(_Case(test_id, verdict, detail))
    return cases


def _test_id(case: ET.Element) -> str:
    """A pytest-style node id from file=, classname= (module path + classes) and name=."""
    file = case.get("file", "")
    name = case.get("name", "")
    if not file:
        return f"{case.get('classname', '')}::{name}".lstrip(":")
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    classname = case.get("classname", "")
    if not classname:  # a collection error: the module itself
        return file
    classes = classname[len(module) + 1:].split(".") if classname.startswith(module + ".") else []
    return "::".join([file, *[c for c in classes if c], name])


def _cause(case: _Case, limits: Limits) -> str:
    """Why one test did not pass, naming a sandbox cap when the test ran into one."""
    detail = case.detail
    error_line = _error_line(detail)
    if case.verdict == "skipped":
        return f"skipped ({_shorten(case.detail.splitlines()[0] if detail else '')}): a skip is not a pass"
    if "collection failure" in detail:
        return f"collection error: {error_line}"
    if "MemoryError" in detail:
        return f"memory limit {limits.memory_mb} MB exceeded ({error_line})"
    if re.search(_PROCESS_CAP_SIGNS, detail) and "fork" in detail.lower():
        return f"process limit {limits.max_procs} reached ({error_line})"
    if not limits.network and re.search(
        r"ConnectionRefusedError|gaierror|Network is unreachable|name resolution", detail
    ):
        return f"network call failed: the sandbox has no network ({error_line})"
    return error_line


def _error_line(detail: str) -> str:
    """The first line of the last block pytest marks with 'E   ' (the exception that ended the
    test, before its '+ where' explanations), else the message."""
    block_start = None
    previous_marked = False
    for line in detail.splitlines():
        marked = line.startswith("E ")
        if marked and not previous_marked:
            block_start = line[1:].strip()
        previous_marked = marked
    if block_start:
        return _shorten(block_start)
    return _shorten(detail.strip().splitlines()[0] if detail.strip() else "no message")


def _no_report_reason(exit_code: int | None, killed_reason: str | None, output: str,
                      limits: Limits) -> str:
    if "MemoryError" in output:
        return f"killed: memory limit {limits.memory_mb} MB exceeded (no JUnit report)"
    if re.search(_PROCESS_CAP_SIGNS, output):
        return f"process limit {limits.max_procs} reached (no JUnit report)"
    if killed_reason:
        return f"pytest {killed_reason} before writing its JUnit report"
    return f"pytest exited with code {exit_code} without a JUnit report: {_last_line(output)}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _shorten(lines[-1]) if lines else "no output"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_DETAIL_CHARS else text[: _REASON_DETAIL_CHARS - 3] + "..."

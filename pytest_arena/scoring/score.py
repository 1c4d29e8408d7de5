"""Score a finished workspace: restore the pristine acceptance tests, run them with pytest in a
sandbox, and read the verdict from the JUnit XML report (never from pytest's terminal output).

Against an agent that tampers with the tests: the task's test files are re-copied from the task
source, files that could change how pytest runs (conftest.py, ini files, a shadow ``pytest``
module, ``sitecustomize``) are removed unless the task itself ships them, and pytest gets our own
ini file, rootdir and confcutdir.

Against an agent that tampers with the interpreter: pytest runs from a clean, read-only copy of
itself (``scoring_env``) under ``python -I -S``, so nothing the agent wrote into site-packages
(a ``.pth``, a plugin, a patched ``_pytest``) is loaded, and only the plugins we name are.

Against a solution that subverts pytest from within (the tests import it, so it runs inside the
pytest process and can rewrite reports or the JUnit writer), the report is cross-checked, never
trusted as it stands: its test ids must be exactly those of the pristine collection (the task's
tests collected once against its reference solution), and two tests planted per run with random
names and content, one that must fail and one that must pass, must be reported as such (the
restored tests and the planted ones are bound read-only, so the tested code cannot rewrite them
on disk either). A report that fails a check is a ``fail`` that names the tampering, and counts
no test as passed. This catches blanket cheats (every report rewritten, failures dropped); code
that knows the real tests' names can still misreport exactly those, and remains out of reach.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import string
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from pytest_arena.errors import ScoringUnavailable, TaskError
from pytest_arena.sandbox.leftovers import WORKSPACE_LIMITS, copy_tree, read_bounded
from pytest_arena.sandbox.leftovers import Limits as LeftoverLimits
from pytest_arena.sandbox.run import Limits, SandboxResult, SandboxStartError, run_sandboxed, sandbox_kind
from pytest_arena.scoring import env as scoring_env
from pytest_arena.scoring.records import ScoreResult, ScoringEnv
from pytest_arena.scoring.runners import get_test_runner, runner_tools_dir
from pytest_arena.scoring.runners.base import Canaries as PlantedTests
from pytest_arena.scoring.runners.base import (
    ControlFiles,
    RunnerCase,
    RunnerContext,
    StepRun,
    TestRunner,
    Toolchain,
)
from pytest_arena.scoring.runners.common import write_junit
from pytest_arena.tasks.base import Task, runner_name_of

# Names that change what pytest (or the interpreter) runs, wherever they appear in the tree.
PYTEST_CONTROL_FILES = frozenset({
    "conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini",
    "sitecustomize.py", "usercustomize.py", "pytest.py",
})
PYTEST_CONTROL_DIRS = frozenset({"pytest", "_pytest"})
PYTEST_CONTROL = ControlFiles(names=PYTEST_CONTROL_FILES, dirs=PYTEST_CONTROL_DIRS)
# Our pytest configuration: xunit1 puts file= and line= on each testcase, so ids are exact.
_PYTEST_INI = "[pytest]\njunit_family = xunit1\n"
# The sandbox's environment holds nothing of ours; these are all pytest gets (no PYTEST_PLUGINS,
# no PYTEST_ADDOPTS, and no plugin entry points: only the plugins named on the command line).
_PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg"}
_REASON_DETAIL_CHARS = 300
_IDS_IN_REASON = 3
# What a refused fork() looks like in Python output (EAGAIN).
_PROCESS_CAP_SIGNS = r"BlockingIOError|Resource temporarily unavailable"
# Runs inside the sandbox for the pristine collection: writes, per collected test, the three
# attributes pytest's JUnit writer would give its testcase (with pytest's own functions, so the
# two always agree), to the file named by OUT.
_COLLECT_BOOTSTRAP = """\
import json
import pytest
from _pytest.junitxml import bin_xml_escape, mangle_test_address

class ArenaPristineCollection:
    def pytest_collection_finish(self, session):
        cases = []
        for item in session.items:
            names = mangle_test_address(item.nodeid)
            cases.append([item.location[0], ".".join(names[:-1]), bin_xml_escape(names[-1])])
        with open(OUT, "w") as out:
            json.dump(cases, out)

raise SystemExit(pytest.main(plugins=[ArenaPristineCollection()]))
"""
# (file, classname, name): how a JUnit testcase names its test.
CaseKey = tuple[str, str, str]
Verdict = Literal["passed", "failed", "error", "skipped"]
# a JUnit element -> the verdict it gives its test case
_VERDICTS: dict[str, Verdict] = {"failure": "failed", "error": "error", "skipped": "skipped"}


@dataclass(frozen=True)
class _Case:
    key: CaseKey
    verdict: Verdict
    detail: str  # the failure message and text, empty when passed

    @property
    def test_id(self) -> str:  # e.g. "test_graph.py::TestSort::test_cycle[3]"
        return junit_test_id(self.key)

    @property
    def is_test(self) -> bool:
        """False for a module's (or folder's) own entry: a collection error or a module skip."""
        return bool(self.key[1])


@dataclass(frozen=True)
class Canaries:
    """Two tests planted in the scoring dir for one run: ``must_fail`` fails and ``must_pass``
    passes whatever the solution does, unless something rewrites their reports."""

    path: str  # the planted module, relative to the scoring dir
    must_fail: CaseKey
    must_pass: CaseKey


def prepare_scoring_dir(task: Task, agent_workspace: Path, scoring_dir: Path,
                        leftover_limits: LeftoverLimits = WORKSPACE_LIMITS,
                        control: ControlFiles = PYTEST_CONTROL) -> None:
    """Copy the agent's workspace, then restore the acceptance tests from the task source.

    Whatever the agent did to the tests (edited, deleted, replaced by a symlink) is discarded, and
    control files it added (pytest's, or those of the task's test runner: ``control``) are
    removed; those the task ships are restored too.
    """
    scoring_dir = Path(scoring_dir)
    if scoring_dir.exists() and any(scoring_dir.iterdir()):
        raise ValueError(f"scoring dir {scoring_dir} is not empty; pass a fresh folder.")
    workspace = task.files("workspace")
    kept_dirs = {part for rel in workspace for part in PurePosixPath(rel).parts[:-1]}
    skipped = control.dirs - kept_dirs  # a toolchain's build folders (target/, node_modules/): never copied
    copy_tree(agent_workspace, scoring_dir, leftover_limits,
              skip=_not_copied if control is PYTEST_CONTROL else lambda rel: _not_copied(rel) or any(
                  part in skipped for part in PurePosixPath(rel).parts))
    shipped = {**_control_files(workspace, control), **task.files("tests")}
    _remove_control_files(scoring_dir, keep=set(shipped), control=control)
    for rel, content in shipped.items():
        _write_pristine(scoring_dir, rel, content)


def score(task: Task, agent_workspace: Path, scoring_dir: Path, *,
          limits: Limits | None = None, env: ScoringEnv | None = None,
          leftover_limits: LeftoverLimits = WORKSPACE_LIMITS, kind: str | None = None) -> ScoreResult:
    """Run the task's acceptance tests against ``agent_workspace`` (copied to ``scoring_dir``).

    The JUnit report and our pytest ini go to ``<scoring_dir>-report/``, outside the folder the
    tested code can write. ``pass`` needs every test of the pristine collection to pass (a skip
    is not a pass) in a report that holds up to the cross-checks; anything the tested code causes
    is a ``fail`` with a reason; ``infra_error`` only when the sandbox itself cannot start.
    ``env`` is the clean interpreter environment (default: ``scoring_env.prepare()``); ``kind``
    the sandbox kind the tests run in (``sandbox.scoring``, resolved; default: the strongest here).
    """
    start = time.monotonic()
    limits = limits or Limits(wall_s=task.spec.scoring_timeout_s)
    scoring_dir = Path(scoring_dir).resolve()
    kind = kind or sandbox_kind()
    env = env or scoring_env.prepare()
    runner = _runner_of(task)
    if runner.toolchain is not None:  # the task's tests run with their own toolchain (go test, cargo, ...)
        return _score_with_toolchain(task, runner, runner.toolchain, agent_workspace, scoring_dir, limits=limits,
                                     env=env, leftover_limits=leftover_limits, kind=kind, start=start)
    output = ""  # the acceptance run's, once it ran

    def result(status, passed, total, reason, failures=(), junit=None, tampering=None) -> ScoreResult:
        return ScoreResult(status=status, tests_passed=passed, tests_total=total, reason=reason,
                           duration_s=time.monotonic() - start, junit_path=junit, sandbox=kind,
                           failures=list(failures), tampering=tampering, scoring_env=env.key, output=output,
                           runner=runner.name, checks=runner.checks)

    try:
        pristine = pristine_collection(task, env, limits, kind)
    except SandboxStartError as exc:
        return result("infra_error", 0, 0, str(exc))
    prepare_scoring_dir(task, agent_workspace, scoring_dir, leftover_limits)
    canaries = plant_canaries(task, scoring_dir)
    report_dir = scoring_dir.with_name(scoring_dir.name + "-report")
    report_dir.mkdir(parents=True, exist_ok=True)
    junit_path = report_dir / "junit.xml"
    junit_path.unlink(missing_ok=True)
    targets = _test_targets(task)
    targets.insert(random.SystemRandom().randrange(len(targets) + 1), canaries.path)
    try:
        run = _run_pytest(task, env, scoring_dir, report_dir, limits, [
            "--continue-on-collection-errors", f"--junitxml={junit_path}", *targets,
        ], readonly=tuple(scoring_dir / rel for rel in (*task.test_files, canaries.path)), kind=kind)
    except SandboxStartError as exc:
        return result("infra_error", 0, 0, str(exc))
    output = run.stdout + run.stderr
    if run.timed_out:
        return result("fail", 0, 0, f"wall time {limits.wall_s:g} s exceeded")
    cases = read_junit(junit_path)
    if cases is None:
        return result("fail", 0, 0, _no_report_reason(run.exit_code, run.killed_reason,
                                                     run.stderr + run.stdout, limits))
    planted = (canaries.must_fail, canaries.must_pass)
    reported = [c for c in cases if c.key not in planted]
    tests = _counted(task, _merged(reported))
    failures = [c for c in tests if c.verdict != "passed"]
    tampering = (_canary_tampering(cases, canaries, tests_passed=not failures)
                 or _collection_mismatch(reported, pristine))
    if tampering is None and run.exit_code == 0:  # the planted failing test makes pytest exit 1
        tampering = "pytest exited 0 although a test failed"
    if tampering:
        return result("fail", 0, len(pristine),
                      f"tampering detected: {tampering}; no test counts as passed",
                      sorted(junit_test_id(key) for key in pristine), junit_path, tampering)
    passed, total = len(tests) - len(failures), len(tests)
    if failures:
        first = failures[0]
        reason = f"{passed}/{total} tests passed; {first.test_id}: {_cause(first, limits)}"
        return result("fail", passed, total, reason, [c.test_id for c in failures], junit_path)
    capped = _capped_canary(cases, canaries)
    if capped is not None:
        reason = f"a test the scorer planted did not pass: {_cause(capped, limits)}"
        return result("fail", passed, total, reason, junit=junit_path)
    if run.exit_code != 1:
        reason = (f"pytest exited with code {run.exit_code} although all {total} tests passed: "
                  f"{_last_line(run.stderr + run.stdout)}")
        return result("fail", passed, total, reason, junit=junit_path)
    return result("pass", passed, total, f"all {total} tests passed", junit=junit_path)


# --- the pytest run ---------------------------------------------------------------------------

def _run_pytest(task: Task, env: ScoringEnv, scoring_dir: Path, report_dir: Path, limits: Limits,
                args: list[str], *, bootstrap: str | None = None,
                readonly: tuple[Path, ...] = (), kind: str | None = None) -> SandboxResult:
    """pytest from the clean env, with our ini, rootdir and confcutdir, in the sandbox: the
    scoring dir and ``report_dir`` writable, ``readonly`` files (the restored tests) not, the
    task folder (its reference solution) hidden."""
    ini_path = report_dir / "pytest.ini"
    ini_path.write_text(_PYTEST_INI)
    cmd = env.command([
        "-q", "-p", "no:cacheprovider", "-c", str(ini_path), f"--rootdir={scoring_dir}",
        f"--confcutdir={scoring_dir}", *args,
    ], bootstrap=bootstrap)
    return run_sandboxed(cmd, workdir=scoring_dir, limits=limits, env=_PYTEST_ENV,
                         writable=[report_dir], readonly=[*env.readonly_paths, *readonly],
                         hidden=[task.root], kind=kind)


# --- cross-checks: the pristine collection and the planted tests ------------------------------

_PRISTINE: dict[tuple, frozenset[CaseKey]] = {}


def pristine_collection(task: Task, env: ScoringEnv, limits: Limits, kind: str | None = None) -> frozenset[CaseKey]:
    """The task's acceptance tests, as JUnit would name them, collected against its reference
    solution in the scoring sandbox: once per task (and env) per process."""
    key = (env.key, *(tuple(task.files(part).items()) for part in ("workspace", "tests", "reference")))
    if key not in _PRISTINE:
        _PRISTINE[key] = _collect_pristine(task, env, limits, kind)
    return _PRISTINE[key]


def _collect_pristine(task: Task, env: ScoringEnv, limits: Limits, kind: str | None = None) -> frozenset[CaseKey]:
    scratch = Path(tempfile.mkdtemp(prefix="arena-pristine-")).resolve()
    try:
        reference, scoring_dir, report_dir = (scratch / name for name in ("reference", "scoring", "report"))
        task.materialise(("workspace", "reference"), reference)
        prepare_scoring_dir(task, reference, scoring_dir)
        report_dir.mkdir()
        out = report_dir / "collected.json"
        run = _run_pytest(task, env, scoring_dir, report_dir, limits,
                          ["--collect-only", *_test_targets(task)],
                          bootstrap=f"OUT = {str(out)!r}\n{_COLLECT_BOOTSTRAP}", kind=kind)
        try:
            collected = [tuple(case) for case in json.loads(out.read_text())]
        except (OSError, ValueError):
            collected = []
        if run.exit_code != 0 or not collected:
            raise TaskError(
                f"task {task.id} ({task.root}): collecting its acceptance tests against the "
                f"reference solution failed (pytest exit code {run.exit_code}): "
                f"{_last_line(run.stdout + run.stderr)}. Fix tests/ or reference/.")
        return frozenset(collected)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def plant_canaries(task: Task, scoring_dir: Path) -> Canaries:
    """Write one module with a test that must fail and one that must pass, beside one of the
    task's test modules, with random names and random arithmetic (nothing code written in advance
    could recognise by name or by content)."""
    rng = random.SystemRandom()
    folders = sorted({PurePosixPath(rel).parent for rel in _test_targets(task)})
    folder = rng.choice(folders)
    taken = {p.stem for p in (scoring_dir / folder).glob("*.py")}

    def name() -> str:
        while True:
            candidate = "test_" + "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 12)))
            if candidate not in taken:
                taken.add(candidate)
                return candidate

    module, failing, passing = name(), name(), name()
    a, b = rng.randint(2, 10**6), rng.randint(2, 10**6)
    op, value = rng.choice([("+", a + b), ("-", a - b), ("*", a * b)])
    tests = [f"def {failing}():\n    assert {a} {op} {b} == {value + rng.randint(1, 999)}\n",
             f"def {passing}():\n    assert {a} {op} {b} == {value}\n"]
    rng.shuffle(tests)
    rel = (folder / f"{module}.py").as_posix()
    (scoring_dir / rel).write_text("\n\n".join(tests))
    classname = rel[:-3].replace("/", ".")
    return Canaries(path=rel, must_fail=(rel, classname, failing), must_pass=(rel, classname, passing))


def _canary_tampering(cases: list[_Case], canaries: Canaries, *, tests_passed: bool) -> str | None:
    """What is wrong with the planted tests' reports, or None. The must-pass test matters only
    when every real test passed (otherwise the verdict is a fail whatever it says, and a task's
    own fixtures may break it honestly); not passing because of a sandbox cap (memory,
    processes) is the tested code's doing, not a lie (see ``_capped_canary``)."""
    failing = [c for c in cases if c.key == canaries.must_fail]
    passing = [c for c in cases if c.key == canaries.must_pass]
    capped = _capped_canary(cases, canaries) is not None
    if any(c.verdict == "passed" for c in failing):
        return "the JUnit report claims that a planted test which must fail passed"
    if len(passing) > 1:
        return "the JUnit report lists a planted test more than once"
    if not failing and not capped:
        return "the JUnit report leaves out a test the scorer planted"
    if tests_passed and not capped and not (passing and passing[0].verdict == "passed"):
        return "the JUnit report claims that a planted test which must pass did not pass"
    return None


def _capped_canary(cases: list[_Case], canaries: Canaries) -> _Case | None:
    """The entry of the planted must-pass test (or of its module) that ran into a sandbox cap."""
    return next((c for c in cases if c.verdict != "passed" and _hit_a_cap(c.detail) and (
        c.key == canaries.must_pass or (not c.is_test and c.key[0] == canaries.path))), None)


def _collection_mismatch(cases: list[_Case], pristine: frozenset[CaseKey]) -> str | None:
    """Whether the report names exactly the pristine collection's tests. A module's own entry
    that did not pass (a collection error, a module-level skip) stands for every test in it."""
    counts = Counter(c.key for c in cases)
    # pytest writes a second entry for a test that failed and then errored in teardown, never
    # for one that passed.
    duplicated = {c.key for c in cases if counts[c.key] > 1 and c.verdict == "passed"}
    extra = {c.key for c in cases if c.key not in pristine and (c.is_test or c.verdict == "passed")}
    units = [c.key[2] for c in cases if not c.is_test and c.verdict != "passed"]
    reported = set(counts)
    missing = {key for key in pristine if key not in reported and not any(
        unit == "" or key[1] == unit or key[1].startswith(unit + ".") for unit in units)}
    if not (duplicated or extra or missing):
        return None
    parts = [f"{label} {_some_ids(keys)}" for label, keys in
             (("missing", missing), ("extra", extra), ("duplicated", duplicated)) if keys]
    return (f"the JUnit report does not match the pristine collection of "
            f"{len(pristine)} tests ({'; '.join(parts)})")


def _merged(cases: list[_Case]) -> list[_Case]:
    """One entry per test, in report order; a test with several entries has the verdict of its
    first that did not pass."""
    by_key: dict[CaseKey, _Case] = {}
    for case in cases:
        if case.key not in by_key or by_key[case.key].verdict == "passed":
            by_key[case.key] = case
    return list(by_key.values())


def _counted(task: Task, tests: list[_Case]) -> list[_Case]:
    """The tests the verdict counts: all, or those the task names (``test_ids``: a real-prs
    task's FAIL_TO_PASS and PASS_TO_PASS), one the report lacks counting as not passed."""
    wanted = task.test_ids
    if not wanted:
        return tests
    by_id = {case.test_id: case for case in tests}
    return [by_id.get(test_id) or _Case(_key_of(test_id), "error", "not in the JUnit report")
            for test_id in wanted]


def _key_of(test_id: str) -> CaseKey:
    """The JUnit key of a pytest node id (the inverse of ``junit_test_id``)."""
    file, *middle, name = test_id.split("::")
    return file, ".".join([file[:-3].replace("/", "."), *middle]), name


def _some_ids(keys: set[CaseKey]) -> str:
    ids = sorted(junit_test_id(key) for key in keys)
    more = f" and {len(ids) - _IDS_IN_REASON} more" if len(ids) > _IDS_IN_REASON else ""
    return ", ".join(ids[:_IDS_IN_REASON]) + more


def _hit_a_cap(detail: str) -> bool:
    return "MemoryError" in detail or bool(re.search(_PROCESS_CAP_SIGNS, detail))


def _not_copied(rel: str) -> bool:
    """Bytecode and caches, never copied from the agent's workspace: stale bytecode could stand in
    for restored tests. (FIFOs, sockets and devices are never copied by ``copy_tree``.)"""
    name = rel.rsplit("/", 1)[-1]
    return name in ("__pycache__", ".pytest_cache") or name.endswith(".pyc")


def _test_targets(task: Task) -> list[str]:
    """The task's test modules, as paths relative to the scoring dir; for a task naming its
    ``test_ids`` (real-prs: FAIL_TO_PASS and PASS_TO_PASS) the modules of those tests (run whole,
    as SWE-bench does: not every test id can be selected on pytest's command line)."""
    if task.test_ids:
        return list(dict.fromkeys(test_id.split("::")[0] for test_id in task.test_ids))
    modules = [rel for rel in task.test_files if rel.endswith(".py")
               and PurePosixPath(rel).name != "conftest.py"]
    named = [rel for rel in modules
             if PurePosixPath(rel).name.startswith("test_") or rel.endswith("_test.py")]
    return named or modules


def _control_files(files: dict[str, bytes], control: ControlFiles = PYTEST_CONTROL) -> dict[str, bytes]:
    return {rel: content for rel, content in files.items() if control.matches(rel)}


def _remove_control_files(root: Path, keep: set[str], control: ControlFiles = PYTEST_CONTROL) -> None:
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked dirs
        here = Path(dirpath)
        for name in list(dirnames):
            rel = (here / name).relative_to(root).as_posix()
            if name in control.dirs and not any(k.startswith(rel + "/") for k in keep):
                _remove(here / name)
                dirnames.remove(name)
        for name in filenames:
            rel = (here / name).relative_to(root).as_posix()
            if control.matches(name) and rel not in keep:
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


JUNIT_MAX_BYTES = 64 << 20  # a bigger report is not read (the code under test wrote it: bounded)


def read_junit(path: Path) -> list[_Case] | None:
    """Every testcase of a pytest JUnit report (xunit1), or None when there is no readable one: a
    report that is not a regular file (the tested code can replace it by a FIFO or a link) or is
    over ``JUNIT_MAX_BYTES`` is none."""
    data = read_bounded(path, JUNIT_MAX_BYTES + 1)
    if data is None or len(data) > JUNIT_MAX_BYTES:
        return None
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    cases = []
    for case in root.iter("testcase"):
        key = (case.get("file", ""), case.get("classname", ""), case.get("name", ""))
        outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")),
                       None)
        if outcome is None:
            cases.append(_Case(key, "passed", ""))
            continue
        verdict = _VERDICTS[outcome.tag]
        detail = f"{outcome.get('message', '')}\n{outcome.text or ''}"
        cases.append(_Case(key, verdict, detail))
    return cases


def junit_test_id(key: CaseKey) -> str:
    """A pytest-style node id from a testcase's file=, classname= (module path + classes) and
    name=."""
    file, classname, name = key
    if not file:
        return f"{classname}::{name}".lstrip(":")
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
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
                      limits: Limits, title: str = "pytest") -> str:
    if "MemoryError" in output:
        return f"killed: memory limit {limits.memory_mb} MB exceeded (no JUnit report)"
    if re.search(_PROCESS_CAP_SIGNS, output):
        return f"process limit {limits.max_procs} reached (no JUnit report)"
    if killed_reason:
        return f"{title} {killed_reason} before writing its JUnit report"
    return f"{title} exited with code {exit_code} without a JUnit report: {_last_line(output)}"


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _shorten(lines[-1]) if lines else "no output"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_DETAIL_CHARS else text[: _REASON_DETAIL_CHARS - 3] + "..."


# --- a toolchain's run (a task whose tests are not pytest's: go test, cargo test, jest, ...) -------

def _runner_of(task: Task) -> TestRunner:
    try:
        return get_test_runner(runner_name_of(task))
    except ValueError as exc:
        raise TaskError(f"task {task.id} ({task.root}): {exc}.") from None


def _score_with_toolchain(task: Task, runner: TestRunner, toolchain: Toolchain, agent_workspace: Path,
                          scoring_dir: Path, *, limits: Limits, env: ScoringEnv, leftover_limits: LeftoverLimits,
                          kind: str, start: float) -> ScoreResult:
    """``score`` for a task whose runner is a toolchain (scoring/runners/base.py says how one runs).

    ``pass`` needs every test the reference solution's run reported to be reported passed (as
    often as the reference's run reported it), the planted tests to be reported as they must, and
    the exit code to agree; a test the run did not report counts as not passed. Raises
    ScoringUnavailable when the toolchain is not installed here."""
    tools_dir = runner_tools_dir(env.path.parent.parent, runner.name)
    problem = toolchain.missing(tools_dir)
    if problem:
        raise ScoringUnavailable(f"task {task.id} ({task.root}) runs its tests with {runner.title} "
                                 f"(runner: {runner.name}), which this machine cannot run: {problem}")
    output = ""

    def result(status, passed, total, reason, failures=(), junit=None, tampering=None) -> ScoreResult:
        return ScoreResult(status=status, tests_passed=passed, tests_total=total, reason=reason,
                           duration_s=time.monotonic() - start, junit_path=junit, sandbox=kind,
                           failures=list(failures), tampering=tampering, scoring_env=None, output=output,
                           runner=runner.name, checks=runner.checks)

    try:
        reference = reference_tests(task, runner, toolchain, env, limits, kind)
    except SandboxStartError as exc:
        return result("infra_error", 0, 0, str(exc))
    prepare_scoring_dir(task, agent_workspace, scoring_dir, leftover_limits, control=toolchain.control)
    ctx = _toolchain_context(task, scoring_dir, tools_dir, limits, ())
    canaries = _plant(task, toolchain, ctx)
    if canaries is not None:
        ctx = _toolchain_context(task, scoring_dir, tools_dir, limits, tuple(canaries.files))
    try:
        runs = _run_steps(task, toolchain, ctx, limits, kind)
    except SandboxStartError as exc:
        return result("infra_error", 0, 0, str(exc))
    output = "\n".join(_step_output(run) for run in runs)
    if any(run.result.timed_out for run in runs):
        return result("fail", 0, len(reference), f"wall time {limits.wall_s:g} s exceeded")
    report = toolchain.read(ctx, runs)
    if report is None:
        last = runs[-1].result
        return result("fail", 0, len(reference), _no_report_reason(
            last.exit_code, last.killed_reason, last.stderr + last.stdout, limits, runner.title))
    junit_path = ctx.report_dir / "arena-junit.xml"
    write_junit(report.cases, junit_path, f"{task.id} ({runner.title})")
    planted = {canaries.must_fail, canaries.must_pass} if canaries else set()
    tests = _reference_verdicts([c for c in report.cases if c.test_id not in planted], reference)
    failures = [c for c in tests if c.verdict != "passed"]
    test_step = next((run for run in reversed(runs) if run.step.tests), None)
    exit_code = test_step.result.exit_code if test_step else None
    tampering = (report.tampering or _over_reported(report.cases, reference)
                 or _planted_tampering(report.cases, canaries, tests_passed=not failures))
    if tampering is None and test_step is not None and exit_code == 0 and (canaries or failures):
        tampering = f"{runner.title} exited 0 although a test failed"
    if tampering:
        return result("fail", 0, len(tests), f"tampering detected: {tampering}; no test counts as passed",
                      [c.test_id for c in tests], junit_path, tampering)
    passed, total = len(tests) - len(failures), len(tests)
    if failures:
        first = failures[0]
        why = report.problem if (report.problem and first.detail == _NOT_REPORTED) else _toolchain_cause(first)
        reason = f"{passed}/{total} tests passed; {first.test_id}: {why}"
        return result("fail", passed, total, reason, [c.test_id for c in failures], junit_path)
    expected = (toolchain.tests_failed_exit if canaries else 0)
    if test_step is not None and exit_code != expected and not (canaries and expected is None and exit_code):
        reason = (f"{runner.title} exited with code {exit_code} although all {total} tests passed: "
                  f"{_last_line(test_step.result.stderr + test_step.result.stdout)}")
        return result("fail", passed, total, reason, junit=junit_path)
    return result("pass", passed, total, f"all {total} tests passed", junit=junit_path)


_NOT_REPORTED = "not reported: the run ended before it (a crash, an exit, or a build error)"
_REFERENCE: dict[tuple, Counter[str]] = {}


def reference_tests(task: Task, runner: TestRunner, toolchain: Toolchain, env: ScoringEnv, limits: Limits,
                    kind: str | None = None) -> Counter[str]:
    """The test ids (with how often each is reported) of a run of the task's tests against its
    reference solution, every one passed, in the scoring sandbox: once per task per process.
    TaskError when the reference's run does not pass."""
    key = (runner.name, *(tuple(task.files(part).items()) for part in ("workspace", "tests", "reference")))
    if key not in _REFERENCE:
        _REFERENCE[key] = _reference_run(task, runner, toolchain, env, limits, kind)
    return _REFERENCE[key]


def _reference_run(task: Task, runner: TestRunner, toolchain: Toolchain, env: ScoringEnv, limits: Limits,
                   kind: str | None) -> Counter[str]:
    scratch = Path(tempfile.mkdtemp(prefix="arena-reference-")).resolve()
    try:
        task.materialise(("workspace", "reference"), scratch / "reference")
        scoring_dir = scratch / "scoring"
        prepare_scoring_dir(task, scratch / "reference", scoring_dir, control=toolchain.control)
        tools_dir = runner_tools_dir(env.path.parent.parent, runner.name)
        ctx = _toolchain_context(task, scoring_dir, tools_dir, limits, ())
        runs = _run_steps(task, toolchain, ctx, limits, kind)
        report = toolchain.read(ctx, runs)
        failing = [c for c in (report.cases if report else []) if c.verdict != "passed"]
        if report is None or not report.cases or failing or any(r.result.timed_out for r in runs):
            last = runs[-1].result
            why = (f"{failing[0].test_id}: {_toolchain_cause(failing[0])}" if failing
                   else (report.problem if report and report.problem else
                         _no_report_reason(last.exit_code, last.killed_reason, last.stderr + last.stdout, limits,
                                           runner.title)))
            raise TaskError(f"task {task.id} ({task.root}): its tests, run with {runner.title} against the "
                            f"reference solution, do not all pass ({why}). Fix tests/ or reference/.")
        return Counter(c.test_id for c in report.cases)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _toolchain_context(task: Task, scoring_dir: Path, tools_dir: Path, limits: Limits,
                       planted: tuple[str, ...]) -> RunnerContext:
    """The run's folders beside the scoring folder (``-report``, ``-build``, ``-config``)."""
    folders = [scoring_dir.with_name(f"{scoring_dir.name}-{name}") for name in ("report", "build", "config")]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return RunnerContext(scoring_dir=scoring_dir, report_dir=folders[0], build_dir=folders[1], config_dir=folders[2],
                         tools_dir=tools_dir, test_files=(*task.test_files, *planted), memory_mb=limits.memory_mb)


def _plant(task: Task, toolchain: Toolchain, ctx: RunnerContext) -> PlantedTests | None:
    """The toolchain's planted tests, written into the scoring folder (random names, unused ones)."""
    rng = random.SystemRandom()
    taken = {p.name for p in ctx.scoring_dir.rglob("*")}

    def name() -> str:
        while True:
            candidate = "z" + "".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 12)))
            if candidate not in taken:
                taken.add(candidate)
                return candidate

    canaries = toolchain.plant(ctx, task.files("tests"), name, rng.randint)
    for rel, content in (canaries.files.items() if canaries else ()):
        _write_pristine(ctx.scoring_dir, rel, content.encode())
    return canaries


def _run_steps(task: Task, toolchain: Toolchain, ctx: RunnerContext, limits: Limits,
               kind: str | None) -> list[StepRun]:
    """The toolchain's steps, in order, in the scoring sandbox, within one wall time; a step that
    is not the test run and fails ends the run."""
    began = time.monotonic()
    runs: list[StepRun] = []
    environment = toolchain.environment(ctx)
    readonly = [ctx.config_dir, *toolchain.readonly(ctx), *(ctx.path(rel) for rel in ctx.test_files)]
    for number, step in enumerate(toolchain.steps(ctx)):
        left = limits.wall_s - (time.monotonic() - began)
        capped = Limits(wall_s=max(left, 0.1), memory_mb=toolchain.address_space_mb(limits.memory_mb),
                        max_procs=limits.max_procs, network=False, file_bytes=limits.file_bytes)
        out = ctx.report_dir / f"{number}-{step.what.replace(' ', '-')}"
        run = run_sandboxed(list(step.argv), workdir=ctx.scoring_dir, limits=capped, env=environment,
                            writable=[ctx.report_dir, ctx.build_dir], readonly=readonly, hidden=[task.root],
                            kind=kind, stdout_path=out.with_suffix(".out"), stderr_path=out.with_suffix(".err"),
                            harness_env=False)
        runs.append(StepRun(step, run, out.with_suffix(".out")))
        if run.timed_out or (run.exit_code != 0 and not step.tests):
            break
    return runs


def _step_output(run: StepRun) -> str:
    return f"$ {run.step.what} (exit code {run.result.exit_code})\n{run.result.stdout}{run.result.stderr}"


def _reference_verdicts(cases: list[RunnerCase], reference: Counter[str]) -> list[RunnerCase]:
    """The counted tests: for each test of the reference's run (as often as it reported it), its
    reports in order, first those that did not pass; one the run did not report is not passed."""
    by_id: dict[str, list[RunnerCase]] = {}
    for case in cases:
        by_id.setdefault(case.test_id, []).append(case)
    counted = []
    for test_id, times in reference.items():
        seen = sorted(by_id.get(test_id, []), key=lambda c: c.verdict == "passed")
        seen += [RunnerCase(test_id, "error", _NOT_REPORTED)] * (times - len(seen))
        counted.extend(seen[:times])
    return counted


def _over_reported(cases: list[RunnerCase], reference: Counter[str]) -> str | None:
    """A test reported more often than the reference's run reported it."""
    counts = Counter(c.test_id for c in cases)
    over = sorted(t for t, n in counts.items() if t in reference and n > reference[t])
    if not over:
        return None
    more = f" and {len(over) - _IDS_IN_REASON} more" if len(over) > _IDS_IN_REASON else ""
    return f"the report lists {', '.join(over[:_IDS_IN_REASON])}{more} more often than the reference's run"


def _planted_tampering(cases: list[RunnerCase], canaries: PlantedTests | None, *, tests_passed: bool) -> str | None:
    """What is wrong with the planted tests' reports (``_canary_tampering``, for a toolchain)."""
    if canaries is None:
        return None
    failing = [c for c in cases if c.test_id == canaries.must_fail]
    passing = [c for c in cases if c.test_id == canaries.must_pass]
    if any(c.verdict == "passed" for c in failing):
        return "the report claims that a planted test which must fail passed"
    if len(failing) > 1 or len(passing) > 1:
        return "the report lists a planted test more than once"
    if tests_passed and not failing:
        return "the report leaves out a test the scorer planted"
    if tests_passed and not (passing and passing[0].verdict == "passed"):
        return "the report claims that a planted test which must pass did not pass"
    return None


def _toolchain_cause(case: RunnerCase) -> str:
    if case.verdict == "skipped":
        return "skipped: a skip is not a pass"
    lines = [line.strip() for line in case.detail.splitlines() if line.strip() and not line.startswith("=== RUN")]
    return _shorten(lines[0] if lines else case.verdict)

"""The suite's own guard (a pytest plugin, loaded by the root ``conftest.py``): a session of this
suite fails when it cannot be trusted, whatever its tests reported.

1. **Pytest's report machinery is pytest's.** Once, a quoting slip in a test helper ran attack code
   in every process that imported it, and that code replaced ``TestReport.from_item_and_call``: every
   test passed, whatever happened. Each function that makes, carries or counts a test's outcome
   (listed in ``_machinery``) must still be the one defined in pytest's (or xdist's) own source file,
   and the one this guard saw when it loaded. Every report made after a change is turned into a
   failure naming it, and the session fails at its end. Hook implementations that can rewrite a
   report (``makereport``, ``logreport``, ``report_teststatus``) may only come from pytest, xdist,
   pytest-timeout, pytest-arena and this guard.
2. **Nothing a test starts outlives the session.** Each process that runs tests tags its environment
   (``ARENA_SUITE_TAG``); at the end, after session fixtures are torn down, any process still
   carrying the tag (a detached or double-forked one keeps it) or descending from this one is
   listed, killed, and fails the session. (Not a child subreaper: the sandboxes' bwrap processes
   would pile up as zombies of the test process, and a process group holding only zombies still
   answers a signal, so every kill would wait out its grace period.)

Under xdist each worker checks itself and hands its findings to the controller
(``workeroutput``), which fails the session: a worker's flipped reports would otherwise reach the
controller looking like passes.
"""
from __future__ import annotations

import inspect
import os
import signal
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest

TAG = "ARENA_SUITE_TAG"
GRACE_S = 5.0  # how long a process still shutting down at the session's end is given


def _machinery() -> list[tuple[str, object, str]]:
    """(name, owner, attribute) of each function that makes, carries or counts a test's outcome."""
    from _pytest import junitxml, main, reports, runner, terminal

    items = [
        ("TestReport.from_item_and_call", reports.TestReport, "from_item_and_call"),
        ("TestReport.__init__", reports.TestReport, "__init__"),
        ("BaseReport.passed", reports.BaseReport, "passed"),
        ("BaseReport.failed", reports.BaseReport, "failed"),
        ("runner.call_and_report", runner, "call_and_report"),
        ("runner.pytest_runtest_makereport", runner, "pytest_runtest_makereport"),
        ("runner.check_interactive_exception", runner, "check_interactive_exception"),
        ("CallInfo.from_call", runner.CallInfo, "from_call"),
        ("Session.pytest_runtest_logreport", main.Session, "pytest_runtest_logreport"),
        ("TerminalReporter.pytest_runtest_logreport", terminal.TerminalReporter, "pytest_runtest_logreport"),
        ("LogXML.pytest_runtest_logreport", junitxml.LogXML, "pytest_runtest_logreport"),
    ]
    try:
        from xdist import dsession, remote
    except ImportError:
        return items
    return items + [
        ("WorkerInteractor.pytest_runtest_logreport", remote.WorkerInteractor, "pytest_runtest_logreport"),
        ("DSession.worker_testreport", dsession.DSession, "worker_testreport"),
    ]


def _code_file(value: object) -> str | None:
    """The source file of a function, method, classmethod, staticmethod or property."""
    for attr in ("fget", "__func__", "__wrapped__"):
        value = getattr(value, attr, value)
    code = getattr(value, "__code__", None)
    return code.co_filename if code is not None else None


def _own_file(owner: object) -> str:
    return str(owner.__file__ if isinstance(owner, ModuleType) else inspect.getfile(owner))  # type: ignore[arg-type]


def _lookup(owner: object, attribute: str) -> object:
    return owner.__dict__.get(attribute) if isinstance(owner, type) else getattr(owner, attribute, None)


SEEN = {name: _lookup(owner, attribute) for name, owner, attribute in _machinery()}
REPORT_HOOKS = ("pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_report_teststatus")


def _allowed_sources() -> tuple[Path, ...]:
    """Where a report hook may be implemented: pytest, the plugins the suite installs, our plugin,
    this guard and the suite's own conftests. (xdist's worker code runs as ``__channelexec__``, so
    sources are told apart by file, not by module name.)"""
    import _pytest

    import pytest_arena

    places = [Path(_pytest.__file__).parent, Path(pytest.__file__).parent, Path(pytest_arena.__file__).parent,
              Path(__file__)]
    for name in ("xdist", "pytest_timeout"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        path = Path(str(module.__file__))
        places.append(path.parent if path.name == "__init__.py" else path)
    return tuple(p.resolve() for p in places)


ALLOWED = _allowed_sources()
PROJECT = Path(__file__).resolve().parents[1]


def _allowed(path: Path) -> bool:
    path = path.resolve()
    if path.name == "conftest.py" and path.is_relative_to(PROJECT):
        return True
    return any(path == place or path.is_relative_to(place) for place in ALLOWED)


def machinery_changes(config: pytest.Config) -> list[str]:
    """One line per part of the report machinery that is not pytest's own any more."""
    changes = []
    for name, owner, attribute in _machinery():
        if SEEN[name] is None:  # not in this release of pytest or xdist: nothing to hold it to
            continue
        value = _lookup(owner, attribute)
        if value is not SEEN[name] or _code_file(value) != _own_file(owner):
            changes.append(f"{name} was replaced (now defined in {_code_file(value) or repr(value)})")
    for hook in REPORT_HOOKS:
        for impl in getattr(config.hook, hook).get_hookimpls():
            source = _code_file(impl.function)
            if source is None or not _allowed(Path(source)):
                changes.append(f"{hook} implemented by {impl.plugin_name} ({source})")
    return changes


# ---------------------------------------------------------------------------- processes


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every visible process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(entry.name)] = (int(fields[1]), fields[0])
    return out


def _carries(pid: int, marker: bytes) -> bool:
    try:
        return marker in (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def survivors(tag: str) -> list[int]:
    """Live processes (not zombies) this process started, by parentage or by the inherited tag."""
    me = os.getpid()
    table = _processes()
    marker = f"{TAG}={tag}".encode()
    found = {pid for pid, (_, state) in table.items() if pid != me and state != "Z" and _carries(pid, marker)}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = list(children.get(me, []))
    while stack:
        pid = stack.pop()
        if table[pid][1] != "Z":
            found.add(pid)
        stack.extend(children.get(pid, []))
    return sorted(found)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_survivors(tag: str) -> list[str]:
    """Wait briefly for what is shutting down; kill what is left and say what it was."""
    deadline = time.monotonic() + GRACE_S
    while True:
        _reap()
        left = survivors(tag)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    lines = []
    for pid in left:
        lines.append(f"pid {pid}: {_cmdline(pid)[:300]}")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _reap()
    return lines


# ---------------------------------------------------------------------------- hooks

_findings: list[str] = []


def _runs_tests(config: pytest.Config) -> bool:
    """False for an xdist controller (its workers run the tests and check themselves)."""
    return hasattr(config, "workerinput") or getattr(config.option, "dist", "no") == "no"


def pytest_configure(config: pytest.Config) -> None:
    if _runs_tests(config):
        os.environ[TAG] = f"{os.getpid()}-{uuid.uuid4().hex}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    changes = machinery_changes(item.config)
    if changes:
        report.outcome = "failed"
        report.longrepr = "pytest's report machinery was replaced during this session:\n  " + "\n  ".join(changes)
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    findings = list(_findings)
    if _runs_tests(config):
        findings += [f"report machinery: {line}" for line in machinery_changes(config)]
        findings += [f"a process outlived the tests that started it (killed): {line}"
                     for line in end_survivors(os.environ.get(TAG, "?"))]
        if hasattr(config, "workerinput"):
            config.workeroutput["arena_suite_guard"] = findings  # the controller fails the session
            return
    if findings:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("!", "the suite guard failed this session", red=True)
            for line in findings:
                reporter.write_line(line, red=True)
        else:
            print("the suite guard failed this session:\n" + "\n".join(findings))
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_testnodedown(node, error) -> None:
    """xdist controller: what each worker's guard found."""
    worker = node.gateway.id if getattr(node, "gateway", None) else "worker"
    _findings.extend(f"[{worker}] {line}" for line in getattr(node, "workeroutput", {}).get("arena_suite_guard", []))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With the failure planted (ARENA_PLANT_FAILURE=1, tests/test_planted_failure.py), the whole
    collection is imported (every test module, in every xdist worker) and only the planted test
    runs: a flip made on import, as the tamper suite's quoting slip made, turns it into a pass and
    `.ci/run` stops. (A flip made while tests run is caught by this guard in every real run.)"""
    if os.environ.get("ARENA_PLANT_FAILURE") == "1":
        planted = [item for item in items if item.path.name == "test_planted_failure.py"]
        config.hook.pytest_deselected(items=[item for item in items if item not in planted])
        items[:] = planted

"""The test-runner seam: how a task's acceptance tests are built, run and read.

A task names its runner in task.yaml (``runner: go``; ``pytest`` when it says nothing). The
``pytest`` runner is the harness's own clean pytest (``pytest_arena/scoring/score.py``); every
other runner is a *toolchain* (``go test``, ``cargo test``, jest, a C++ build with Catch2,
javac with the JUnit console launcher) that ``score`` drives the same way:

1. the agent's workspace is copied, the toolchain's build and configuration files (``control``)
   the task does not ship are removed and those it ships restored, and the task's test files
   are restored pristine;
2. two tests are planted (``plant``): one must fail and one must pass, with random names;
3. ``steps`` run one after the other in the scoring sandbox (no network, the caps), the test
   files and the toolchain's ``readonly`` paths read-only, its caches and build output in a
   writable build folder of the run's own (never the host's caches);
4. ``read`` turns what the steps wrote (a JUnit report where the toolchain writes one, its JSON
   or its text output otherwise) into one verdict per test;
5. the verdicts are cross-checked against the tests the task's reference solution reported
   (``reference-tests``), the planted tests and the exit code.

A runner is a frozen record (``TestRunner``) in the one registry, ``pytest_arena.scoring.runners``;
its behaviour, when it is not pytest, is a ``Toolchain``. Rows of a non-pytest runner record its
name and the cross-checks that applied (``scoring.runner``, ``scoring.checks``).
"""
from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal, Protocol

from pytest_arena.sandbox.base import SandboxResult

__all__ = [
    "CANARIES", "CHECK_TITLES", "EXIT_CODE", "PRISTINE_COLLECTION", "REFERENCE_TESTS", "RESTORED_TESTS",
    "Canaries", "ControlFiles", "Report", "RunnerCase", "RunnerContext", "Step", "StepRun", "TestRunner",
    "Toolchain", "Verdict",
]

Verdict = Literal["passed", "failed", "error", "skipped"]

# The cross-checks a scoring run can apply; rows of non-pytest runners list those that did.
RESTORED_TESTS = "restored-tests"
CANARIES = "canaries"
PRISTINE_COLLECTION = "pristine-collection"
REFERENCE_TESTS = "reference-tests"
EXIT_CODE = "exit-code"
CHECK_TITLES: dict[str, str] = {
    RESTORED_TESTS: "the task's test files restored pristine and read-only, build and configuration files "
                    "restored or removed",
    CANARIES: "a must-fail and a must-pass test planted with random names",
    PRISTINE_COLLECTION: "the JUnit test ids exactly those collected against the reference solution",
    REFERENCE_TESTS: "every test the reference solution's run reported is reported once (a missing one "
                     "counts as not passed)",
    EXIT_CODE: "the runner's exit code agrees with the verdicts",
}


@dataclass(frozen=True)
class ControlFiles:
    """Files that change how the tests build or run: removed from the agent's workspace unless the
    task ships them (then restored from the task). ``names`` and ``patterns`` (fnmatch) match a
    file's name anywhere in the tree, ``dirs`` a folder's name (never copied)."""

    names: frozenset[str] = frozenset()
    dirs: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()

    def matches(self, rel: str) -> bool:
        parts = PurePosixPath(rel).parts
        return (parts[-1] in self.names or any(fnmatch.fnmatchcase(parts[-1], p) for p in self.patterns)
                or bool(set(parts[:-1]) & self.dirs))


@dataclass(frozen=True)
class RunnerCase:
    """One test's verdict as a toolchain reported it; ``test_id`` is the runner's own name for
    the test (``TestDouble/negative``, ``tests/double.rs::two``, ``DoublerTest::two()``)."""

    __test__ = False  # not a pytest test class

    test_id: str
    verdict: Verdict
    detail: str = ""  # the failure message and output, empty when passed


@dataclass(frozen=True)
class Report:
    """What ``read`` found: every test case reported (in order, repeats kept), a line saying why
    the run ended without reporting tests (a build error) when it did, and what the report
    contradicts in itself (test lines that do not add up to the runner's own summary)."""

    cases: list[RunnerCase]
    problem: str | None = None
    tampering: str | None = None


@dataclass(frozen=True)
class Canaries:
    """The two tests planted for one run: ``files`` (relative path -> content, written into the
    scoring folder and bound read-only) and the ids the report will give them."""

    files: Mapping[str, str]
    must_fail: str
    must_pass: str


@dataclass(frozen=True)
class RunnerContext:
    """Where one run happens: ``scoring_dir`` (the tested code and the restored tests: the
    sandbox's workdir), ``report_dir`` and ``build_dir`` (writable, outside the scoring folder:
    reports; caches and build output), ``config_dir`` (files ``steps`` writes for the run, bound
    read-only), ``tools_dir`` (what ``setup --runners`` installed, bound read-only) and the test
    files to run (the task's, then the planted ones)."""

    scoring_dir: Path
    report_dir: Path
    build_dir: Path
    config_dir: Path
    tools_dir: Path
    test_files: tuple[str, ...]
    memory_mb: int | None

    def path(self, rel: str) -> Path:
        return self.scoring_dir / rel


@dataclass(frozen=True)
class Step:
    """One command of a run. ``what`` names it in reasons ("build", "tests"); ``tests`` marks the
    step whose exit code reflects the verdicts (the exit-code check reads it)."""

    what: str
    argv: tuple[str, ...]
    tests: bool = False


@dataclass(frozen=True)
class StepRun:
    """A step as it ran: the sandbox's result and the file holding its whole output (stdout, then
    stderr when the step keeps them apart)."""

    step: Step
    result: SandboxResult
    output: Path


class Toolchain(Protocol):
    """What a non-pytest runner does (see the module docstring)."""

    @property
    def control(self) -> ControlFiles: ...

    @property
    def tests_failed_exit(self) -> int | None:
        """The exit code of a test step when a test failed (None: any non-zero code)."""
        ...

    def missing(self, tools_dir: Path) -> str | None:
        """Why the toolchain cannot run here ("go is not installed: apt-get install golang-go"),
        or None."""
        ...

    def version(self, tools_dir: Path) -> str | None: ...

    def address_space_mb(self, memory_mb: int | None) -> int | None:
        """The address-space cap (RLIMIT_AS) for a run whose memory setting is ``memory_mb``: a
        runtime that reserves far more address space than it uses (the JVM, V8) gets more, and
        ``memory_mb`` becomes its heap cap instead."""
        ...

    def readonly(self, ctx: RunnerContext) -> tuple[Path, ...]:
        """Toolchain paths outside the system folders the sandbox shows anyway."""
        ...

    def environment(self, ctx: RunnerContext) -> dict[str, str]: ...

    def steps(self, ctx: RunnerContext) -> list[Step]: ...

    def plant(self, ctx: RunnerContext, test_files: Mapping[str, bytes], rng_name: Callable[[], str],
              rng_int: Callable[[int, int], int]) -> Canaries | None:
        """The planted tests for one run beside the task's ``test_files``; names from
        ``rng_name`` (lowercase letters, unique per call), numbers from ``rng_int``. None: the
        runner plants none."""
        ...

    def read(self, ctx: RunnerContext, runs: Sequence[StepRun]) -> Report | None:
        """Every test case the run reported, or None when it left no report at all."""
        ...


@dataclass(frozen=True)
class TestRunner:
    """A runner, registered by name (``register_test_runner``): what task.yaml's ``runner`` names
    and rows of non-pytest runners record."""

    __test__ = False  # not a pytest test class

    name: str  # e.g. "go"
    title: str  # what reasons and reports say: "go test"
    language: str  # e.g. "Go"
    checks: tuple[str, ...]  # the cross-checks its runs apply (CHECK_TITLES)
    toolchain: Toolchain | None = None  # None: the harness's own clean pytest (scoring/score.py)
    install_hint: str = ""  # what makes it available here, e.g. "apt-get install golang-go"
    # `python -m pytest_arena setup --runners NAME`: (tools_dir, log) -> None, for a runner that
    # needs something installed beyond system packages (jest into tools_dir); None: nothing to do.
    setup: Callable[[Path, Callable[[str], None]], None] | None = None
    # The commands an agent runs its tests with, beyond the system's (jest, from tools_dir):
    # (tools_dir, workspace, folder) -> {name: argv}, files they need written into folder (shown
    # read-only to the agent); None: the system's toolchain is all (go, cargo, g++, javac).
    agent_tools: Callable[[Path, Path, Path], dict[str, tuple[str, ...]]] | None = None
    notes: tuple[str, ...] = field(default=())  # what the docs and `setup` say about it

"""The ``rust`` runner: ``cargo test --offline`` on the task's integration tests (``tests/*.rs``,
one ``--test`` target each, ignored tests included: Exercism marks all but the first
``#[ignore]``), from Debian's cargo and rustc (a rustup install in ~/.cargo is not what the
sandbox shows, nor what a fresh machine has). No crate is fetched: a task's crate needs nothing
beyond the standard library. ``CARGO_HOME`` and the target folder are the run's own.

Stable libtest writes no JSON or JUnit, so verdicts are read from its text output
(``test NAME ... ok``), the tested code's own writes to stdout among them: each target's lines
are checked against its ``test result:`` summary, and the report against the planted tests, the
reference's run and the exit code. Ids are ``<test file>::<test name>`` (``tests/double.rs::two``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from pytest_arena.scoring.runners.base import (
    Canaries,
    ControlFiles,
    Report,
    RunnerCase,
    RunnerContext,
    Step,
    StepRun,
    Verdict,
)
from pytest_arena.scoring.runners.common import (
    SYSTEM_PATH,
    first_error,
    missing_programs,
    program_output,
    read_output,
)

__all__ = ["INSTALL_HINT", "RustToolchain"]

INSTALL_HINT = "apt-get install cargo"
_RUNNING = re.compile(r"^\s*Running (?:(?:unittests )?(?P<source>\S+) \((?P<binary>[^)]*)\)|(?P<bare>\S+))\s*$")
_TEST_LINE = re.compile(r"^test (?P<name>.+?) \.\.\. (?P<result>ok|FAILED|ignored)(?:,.*)?$")
_SUMMARY = re.compile(r"^test result: \w+\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored")
_FAILURE_BLOCK = re.compile(r"^---- (?P<name>.+?) stdout ----$")
_VERDICTS: dict[str, Verdict] = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}


class RustToolchain:
    control = ControlFiles(names=frozenset({"Cargo.toml", "Cargo.lock", "build.rs", "rust-toolchain",
                                            "rust-toolchain.toml"}),
                           dirs=frozenset({".cargo", "target"}))
    tests_failed_exit = 101

    def missing(self, tools_dir: Path) -> str | None:
        return missing_programs(["cargo", "rustc"], INSTALL_HINT)

    def version(self, tools_dir: Path) -> str | None:
        out = (program_output("rustc", "--version") or "").split()  # "rustc 1.63.0"
        return out[1] if len(out) > 1 else None

    def address_space_mb(self, memory_mb: int | None) -> int | None:
        return memory_mb

    def readonly(self, ctx: RunnerContext) -> tuple[Path, ...]:
        return ()  # /usr/bin/cargo, /usr/lib/rustlib: inside /usr

    def environment(self, ctx: RunnerContext) -> dict[str, str]:
        return {"PATH": SYSTEM_PATH, "CARGO_HOME": str(ctx.build_dir / "cargo-home"),
                "CARGO_TARGET_DIR": str(ctx.build_dir / "target"), "CARGO_NET_OFFLINE": "true",
                "CARGO_TERM_COLOR": "never", "CARGO_INCREMENTAL": "0"}

    def steps(self, ctx: RunnerContext) -> list[Step]:
        targets = [arg for name in _targets(ctx.test_files) for arg in ("--test", name)]
        # One stream (stderr into stdout), so that each target's "Running" line precedes its results.
        return [Step("tests", ("/bin/sh", "-c", 'exec "$@" 2>&1', "sh", "cargo", "test", "--offline",
                               "--no-fail-fast", *targets, "--", "--include-ignored", "--color", "never"),
                     tests=True)]

    def plant(self, ctx: RunnerContext, test_files: Mapping[str, bytes], rng_name: Callable[[], str],
              rng_int: Callable[[int, int], int]) -> Canaries | None:
        failing, passing = rng_name(), rng_name()
        a, b = rng_int(2, 10**6), rng_int(2, 10**6)
        tests = [(failing, a + b + rng_int(1, 999)), (passing, a + b)]
        if rng_int(0, 1):
            tests.reverse()
        rel = f"tests/{rng_name()}.rs"
        content = "".join(f"#[test]\nfn {name}() {{\n    assert_eq!({a}u64 + {b}u64, {value}u64);\n}}\n\n"
                          for name, value in tests)
        return Canaries(files={rel: content}, must_fail=f"{rel}::{failing}", must_pass=f"{rel}::{passing}")

    def read(self, ctx: RunnerContext, runs: Sequence[StepRun]) -> Report | None:
        text = read_output(runs[-1])
        sources = {_binary_stem(PurePosixPath(rel).stem): rel for rel in ctx.test_files}
        cases: list[RunnerCase] = []
        target = ""
        per_target: dict[str, list[RunnerCase]] = {}
        summaries: dict[str, tuple[int, int, int]] = {}
        details: dict[str, list[str]] = {}
        crashed: set[str] = set()  # targets whose test program cargo saw end abnormally
        block: str | None = None
        for line in text.splitlines():
            running = _RUNNING.match(line)
            if running:
                target = running.group("source") or sources.get(_binary_stem(running.group("bare") or ""), "?")
                block = None
                continue
            if "process didn't exit successfully" in line:
                crashed.add(target)
            summary = _SUMMARY.match(line)
            if summary:
                summaries[target] = (int(summary["passed"]), int(summary["failed"]), int(summary["ignored"]))
                block = None
                continue
            test = _TEST_LINE.match(line)
            if test:
                name = re.sub(r" - should panic(?: with .*)?$", "", test["name"])
                case = RunnerCase(f"{target}::{name}", _VERDICTS[test["result"]])
                cases.append(case)
                per_target.setdefault(target, []).append(case)
                continue
            opened = _FAILURE_BLOCK.match(line)
            if opened:
                block = f"{target}::{opened['name']}"
                continue
            if block is not None:
                if line == "failures:":
                    block = None
                else:
                    details.setdefault(block, []).append(line)
        cases = [RunnerCase(c.test_id, c.verdict, "\n".join(details.get(c.test_id, [])).strip())
                 if c.verdict != "passed" else c for c in cases]
        tampering = _summary_mismatch(per_target, summaries, crashed)
        if not cases and runs[-1].result.exit_code not in (0, None):
            return Report(cases, f"the tests did not build or start: {first_error(text, r'^error')}")
        return Report(cases, tampering=tampering)


def _targets(test_files: Sequence[str]) -> list[str]:
    """cargo's names of the integration tests among ``test_files``: ``tests/<name>.rs`` and
    ``tests/<name>/main.rs``."""
    names = []
    for rel in test_files:
        parts = PurePosixPath(rel).parts
        if len(parts) == 2 and parts[0] == "tests" and parts[1].endswith(".rs"):
            names.append(parts[1][:-3])
        elif len(parts) == 3 and parts[0] == "tests" and parts[2] == "main.rs":
            names.append(parts[1])
    return names


def _binary_stem(name: str) -> str:
    """``double`` from ``target/debug/deps/double-0f3c...`` (cargo's older "Running" lines)."""
    stem = PurePosixPath(name).name
    return re.sub(r"-[0-9a-f]{16}$", "", stem).replace("-", "_")


def _summary_mismatch(per_target: dict[str, list[RunnerCase]], summaries: dict[str, tuple[int, int, int]],
                      crashed: set[str]) -> str | None:
    """Whether each target's test lines add up to its own summary line, and each target that
    ended without one ended abnormally (libtest prints it whenever it ends by itself: a test
    program that exits early, successfully, after its test lines, was not libtest's doing)."""
    for target, cases in per_target.items():
        if target not in summaries and target not in crashed:
            return f"{target}: test lines, but the test program ended without libtest's summary, successfully"
        counted = (sum(c.verdict == "passed" for c in cases), sum(c.verdict == "failed" for c in cases),
                   sum(c.verdict == "skipped" for c in cases))
        if target in summaries and summaries[target] != counted:
            passed, failed, ignored = summaries[target]
            return (f"{target}: the test lines report {counted[0]} passed, {counted[1]} failed, {counted[2]} "
                    f"ignored, its summary {passed}, {failed}, {ignored}")
    return None

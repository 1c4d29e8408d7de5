"""The ``go`` runner: ``go test -json`` on the packages holding the task's ``*_test.go`` files,
from Debian's golang-go, offline (``GOPROXY=off``: a task's module needs nothing beyond the
standard library), its build cache and module cache in the run's own build folder.

Verdicts come from ``go test``'s JSON events (test2json), one per test and subtest: ids are the
test names (``TestDouble``, ``TestDouble/negative``). Go 1.19's test2json reads them from the
test binary's text output, which the tested code shares, so a report is cross-checked: planted
tests (one must fail), every test of the reference's run reported once, and the exit code.
"""
from __future__ import annotations

import json
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
from pytest_arena.scoring.runners.common import SYSTEM_PATH, first_error, missing_programs, read_output, system_program

__all__ = ["GoToolchain", "INSTALL_HINT"]

INSTALL_HINT = "apt-get install golang-go"
_ACTIONS: dict[str, Verdict] = {"pass": "passed", "fail": "failed", "skip": "skipped"}
_BUILD_ERROR = r"\.go:[0-9]+|error|failed"  # the line that says why a package did not build
_PACKAGE_CLAUSE = re.compile(rb"^\s*package\s+(\w+)", re.MULTILINE)


class GoToolchain:
    control = ControlFiles(names=frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"}),
                           dirs=frozenset({"vendor"}), patterns=("*_test.go",))
    tests_failed_exit = 1

    def missing(self, tools_dir: Path) -> str | None:
        return missing_programs(["go"], INSTALL_HINT)

    def version(self, tools_dir: Path) -> str | None:
        go = system_program("go")
        return None if go is None else str(Path(go).resolve().parent.parent.name)  # e.g. go-1.19

    def address_space_mb(self, memory_mb: int | None) -> int | None:
        return memory_mb

    def readonly(self, ctx: RunnerContext) -> tuple[Path, ...]:
        return ()  # /usr/lib/go-*: inside /usr, which every sandbox shows

    def environment(self, ctx: RunnerContext) -> dict[str, str]:
        build = ctx.build_dir
        return {"PATH": f"/usr/local/go/bin:{SYSTEM_PATH}", "GOCACHE": str(build / "gocache"),
                "GOPATH": str(build / "gopath"), "GOMODCACHE": str(build / "gopath" / "mod"),
                "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOSUMDB": "off", "GOENV": "off",
                "GOTOOLCHAIN": "local", "GOTELEMETRY": "off", "GO111MODULE": "on"}

    def steps(self, ctx: RunnerContext) -> list[Step]:
        return [Step("tests", ("go", "test", "-json", "-count=1", *_packages(ctx.test_files)), tests=True)]

    def plant(self, ctx: RunnerContext, test_files: Mapping[str, bytes], rng_name: Callable[[], str],
              rng_int: Callable[[int, int], int]) -> Canaries | None:
        go_tests = sorted(rel for rel in test_files if rel.endswith("_test.go"))
        if not go_tests:
            return None
        beside = go_tests[0]
        clause = _PACKAGE_CLAUSE.search(test_files[beside])
        if clause is None:
            return None
        failing, passing = "Test" + rng_name().capitalize(), "Test" + rng_name().capitalize()
        a, b = rng_int(2, 10**6), rng_int(2, 10**6)
        tests = {failing: a + b + rng_int(1, 999), passing: a + b}
        body = "".join(f"\nfunc {name}(t *testing.T) {{\n\tif {a}+{b} != {value} {{\n\t\tt.Fatal(\"no\")\n\t}}\n}}\n"
                       for name, value in sorted(tests.items(), key=lambda _: rng_int(0, 1)))
        rel = (PurePosixPath(beside).parent / f"{rng_name()}_test.go").as_posix()
        content = f"package {clause.group(1).decode()}\n\nimport \"testing\"\n{body}"
        prefix = _prefix(ctx.test_files, rel)
        return Canaries(files={rel: content}, must_fail=prefix + failing, must_pass=prefix + passing)

    def read(self, ctx: RunnerContext, runs: Sequence[StepRun]) -> Report | None:
        run = runs[-1]
        text = read_output(run)
        cases: list[RunnerCase] = []
        output: dict[str, list[str]] = {}
        packages = _packages(ctx.test_files)
        for line in text.splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or not isinstance(event.get("Test"), str):
                continue
            key = (_package_dir(str(event.get("Package", "")), packages) if len(packages) > 1 else "") + event["Test"]
            if event.get("Action") == "output":
                output.setdefault(key, []).append(str(event.get("Output", "")))
            elif event.get("Action") in _ACTIONS:
                verdict = _ACTIONS[event["Action"]]
                cases.append(RunnerCase(key, verdict, "" if verdict == "passed" else "".join(output.get(key, []))))
        if not cases and run.result.exit_code not in (0, None):
            return Report(cases, f"the tests did not build or start: {first_error(text, _BUILD_ERROR)}")
        return Report(cases)


def _packages(test_files: Sequence[str]) -> list[str]:
    """``./dir`` for each folder holding a ``*_test.go`` file."""
    dirs = sorted({PurePosixPath(rel).parent.as_posix() for rel in test_files if rel.endswith("_test.go")})
    return [f"./{d}" if d != "." else "." for d in dirs] or ["."]


def _prefix(test_files: Sequence[str], rel: str) -> str:
    packages = _packages(test_files)
    if len(packages) <= 1:
        return ""
    folder = PurePosixPath(rel).parent.as_posix()
    return (f"./{folder}" if folder != "." else ".") + "::"


def _package_dir(import_path: str, packages: list[str]) -> str:
    """The ``./dir::`` prefix of a test of the package ``import_path`` (the longest folder the
    import path ends with)."""
    for package in sorted(packages, key=len, reverse=True):
        folder = package[2:] if package.startswith("./") else ""
        if folder and (import_path == folder or import_path.endswith("/" + folder)):
            return package + "::"
    return ".::"

"""The ``cpp`` runner: the solution and the task's Catch2 tests built with the system's g++ as
C++17, with ``EXERCISM_RUN_ALL_TESTS`` defined (Exercism compiles all but the first test only
then), and the test program run with Catch2's JUnit reporter.

The build is ours, not the task's CMakeLists.txt: Exercism's names the program after the
exercise's folder (the scoring folder has another name) and runs the tests as part of the build;
a workspace's CMakeLists.txt is the agent's to change anyway. Sources are every ``.cpp``/``.cc``
file of the workspace but test files the task does not ship, plus the task's test files; the
workspace is searched for ``#include "..."`` only (``-iquote``), never for ``<...>``, so a file
named ``vector`` there cannot stand in for the standard library. The program links Debian's
static ``libCatch2WithMain`` (package catch2), whose ``main`` the linker takes only when no
source brings one (Exercism's vendored ``test/tests-main.cpp`` does). Ids are Catch2's test
names (``two``, ``case/section``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from pytest_arena.scoring.runners.base import (
    Canaries,
    ControlFiles,
    Report,
    RunnerContext,
    Step,
    StepRun,
)
from pytest_arena.scoring.runners.common import (
    SYSTEM_PATH,
    first_error,
    missing_programs,
    program_output,
    read_junit_cases,
    read_output,
)

__all__ = ["CppToolchain", "INSTALL_HINT"]

INSTALL_HINT = "apt-get install g++ catch2"
CATCH_WITH_MAIN = Path("/usr/lib/libCatch2WithMain.a")
_SOURCES = (".cpp", ".cc", ".cxx")
_TEST_NAMES = re.compile(r"(^|/)(tests?/|test_[^/]*$|[^/]*_test\.[^/]*$|[^/]*\.test\.[^/]*$)")
_CATCH_INCLUDE = re.compile(rb"^\s*#\s*include\s*[<\"][^>\"]*catch[^>\"]*[>\"].*$", re.MULTILINE)


class CppToolchain:
    control = ControlFiles(names=frozenset({"CMakeLists.txt", "CMakeCache.txt", "Makefile"}),
                           dirs=frozenset({"build", "CMakeFiles"}))
    tests_failed_exit = 1  # Catch2: the number of failed test cases (the planted one alone: 1)

    def missing(self, tools_dir: Path) -> str | None:
        problem = missing_programs(["g++"], INSTALL_HINT)
        if problem is None and not Path("/usr/include/catch2/catch.hpp").is_file():
            problem = f"Catch2 is not installed (/usr/include/catch2/catch.hpp is missing): {INSTALL_HINT}"
        return problem

    def version(self, tools_dir: Path) -> str | None:
        return program_output("g++", "-dumpfullversion")

    def address_space_mb(self, memory_mb: int | None) -> int | None:
        return memory_mb

    def readonly(self, ctx: RunnerContext) -> tuple[Path, ...]:
        return ()  # g++, /usr/include/catch2, /usr/lib/libCatch2WithMain.a: inside /usr

    def environment(self, ctx: RunnerContext) -> dict[str, str]:
        return {"PATH": SYSTEM_PATH}

    def steps(self, ctx: RunnerContext) -> list[Step]:
        tests = set(ctx.test_files)
        sources = sorted({rel for rel in _workspace_sources(ctx.scoring_dir)
                          if rel in tests or not _TEST_NAMES.search(rel)} | {
            rel for rel in tests if rel.endswith(_SOURCES)})
        program = ctx.build_dir / "tests"
        build = ("g++", "-std=c++17", "-DEXERCISM_RUN_ALL_TESTS", "-iquote", str(ctx.scoring_dir),
                 *(str(ctx.path(rel)) for rel in sources), "-o", str(program), str(CATCH_WITH_MAIN))
        return [Step("build", build),
                Step("tests", (str(program), "--reporter", "junit", "--out", str(ctx.report_dir / "junit.xml")),
                     tests=True)]

    def plant(self, ctx: RunnerContext, test_files: Mapping[str, bytes], rng_name: Callable[[], str],
              rng_int: Callable[[int, int], int]) -> Canaries | None:
        beside = next((rel for rel, content in sorted(test_files.items())
                       if rel.endswith(_SOURCES) and b"TEST_CASE" in content), None)
        if beside is None:
            return None
        includes = b"\n".join(m.group(0).strip() for m in _CATCH_INCLUDE.finditer(test_files[beside])).decode()
        failing, passing = rng_name(), rng_name()
        a, b = rng_int(2, 10**6), rng_int(2, 10**6)
        tests = [(failing, a + b + rng_int(1, 999)), (passing, a + b)]
        if rng_int(0, 1):
            tests.reverse()
        body = "".join(f'\nTEST_CASE("{name}") {{\n    REQUIRE({a}LL + {b}LL == {value}LL);\n}}\n'
                       for name, value in tests)
        rel = (PurePosixPath(beside).parent / f"{rng_name()}_test.cpp").as_posix()
        return Canaries(files={rel: includes + "\n" + body}, must_fail=failing, must_pass=passing)

    def read(self, ctx: RunnerContext, runs: Sequence[StepRun]) -> Report | None:
        build = runs[0]
        if build.result.exit_code != 0 or len(runs) < 2:
            text = read_output(build)
            return Report([], f"the tests did not build (g++ exit code {build.result.exit_code}): "
                              f"{first_error(text, r'error')}")
        cases = read_junit_cases([ctx.report_dir / "junit.xml"], lambda classname, name: name)
        return None if cases is None else Report(cases)


def _workspace_sources(root: Path) -> list[str]:
    """The C++ sources under ``root`` (not in a control folder), relative."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and rel.endswith(_SOURCES) and not (
                set(PurePosixPath(rel).parts[:-1]) & CppToolchain.control.dirs):
            out.append(rel)
    return out

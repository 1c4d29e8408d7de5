"""The ``java`` runner: javac and the JUnit 5 console launcher, all from Debian's packages
(default-jdk-headless, junit5, libassertj-core-java): Exercism's own build (Gradle, with JUnit 5
and AssertJ fetched from Maven Central) needs a network scoring has not.

The solution (every ``.java`` file outside ``src/test/``) compiles into one folder, the task's
test files against it into another, and the launcher runs every test class of the latter, with
JUnit's ``@Disabled`` condition turned off (Exercism disables all but the first test). Verdicts
come from the launcher's JUnit XML; ids are ``<class>::<method>`` (``DoublerTest::two()``; a
parameterised test's runs ``Class::method(int)::#1``). The JVM reserves far more address space
than it uses, so the memory setting caps its heap (``-Xmx``) and the address-space cap is raised
by ``JVM_RESERVE_MB``. AssertJ is Debian's 3.14 (Exercism's exercises use a later 3.x; calls
added since fail to compile, and such an exercise's reference fails its validation).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from pytest_arena.sandbox.leftovers import read_bounded
from pytest_arena.scoring.runners.base import (
    Canaries,
    ControlFiles,
    Report,
    RunnerCase,
    RunnerContext,
    Step,
    StepRun,
)
from pytest_arena.scoring.runners.common import (
    OUTPUT_MAX_BYTES,
    SYSTEM_PATH,
    first_error,
    missing_programs,
    program_output,
    read_junit_cases,
    read_output,
)

__all__ = ["INSTALL_HINT", "JavaToolchain"]

INSTALL_HINT = "apt-get install default-jdk-headless junit5 libassertj-core-java"
JARS = Path("/usr/share/java")
CONSOLE = JARS / "junit-platform-console-standalone.jar"  # the JUnit 5 API, engines and launcher
LIBRARIES = (JARS / "assertj-core.jar",)
JVM_RESERVE_MB = 3072
_PACKAGE = re.compile(rb"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_SEGMENT = re.compile(r"\[([\w-]+):([^\]]*)\]")
_UNIQUE_ID = re.compile(r"unique-id: (\[engine:[^\n]*)")


class JavaToolchain:
    control = ControlFiles(names=frozenset({"build.gradle", "build.gradle.kts", "settings.gradle",
                                            "settings.gradle.kts", "gradlew", "gradlew.bat", "pom.xml"}),
                           dirs=frozenset({"build", ".gradle", "gradle", "target"}))
    tests_failed_exit = 1

    def missing(self, tools_dir: Path) -> str | None:
        problem = missing_programs(["javac", "java"], INSTALL_HINT)
        absent = [jar for jar in (CONSOLE, *LIBRARIES) if not jar.is_file()]
        if problem is None and absent:
            problem = f"{absent[0]} is missing: {INSTALL_HINT}"
        return problem

    def version(self, tools_dir: Path) -> str | None:
        return (program_output("javac", "-version") or "").removeprefix("javac ") or None

    def address_space_mb(self, memory_mb: int | None) -> int | None:
        return None if memory_mb is None else memory_mb + JVM_RESERVE_MB

    def readonly(self, ctx: RunnerContext) -> tuple[Path, ...]:
        return ()  # the JDK, /usr/share/java and /etc/java-*: inside the system folders

    def environment(self, ctx: RunnerContext) -> dict[str, str]:
        return {"PATH": SYSTEM_PATH, "JAVA_TOOL_OPTIONS": "", "_JAVA_OPTIONS": "", "CLASSPATH": ""}

    def _jvm(self, ctx: RunnerContext) -> list[str]:
        heap = [f"-Xmx{ctx.memory_mb}m"] if ctx.memory_mb else []
        return [*heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                f"-XX:ErrorFile={ctx.build_dir / 'hs_err_%p.log'}"]

    def steps(self, ctx: RunnerContext) -> list[Step]:
        tests = [rel for rel in ctx.test_files if rel.endswith(".java")]
        main = sorted(rel for rel in _java_files(ctx.scoring_dir)
                      if rel not in tests and not rel.startswith("src/test/"))
        classes, test_classes = ctx.build_dir / "classes", ctx.build_dir / "test-classes"
        libraries = ":".join(str(jar) for jar in (CONSOLE, *LIBRARIES))
        javac = ["javac", *(f"-J{flag}" for flag in self._jvm(ctx)), "-encoding", "UTF-8", "-nowarn"]
        return [
            Step("build", (*javac, "-d", str(classes), "-cp", libraries, *(str(ctx.path(r)) for r in main))),
            Step("build tests", (*javac, "-d", str(test_classes), "-cp", f"{classes}:{libraries}",
                                 *(str(ctx.path(r)) for r in tests))),
            Step("tests", ("java", *self._jvm(ctx), "-jar", str(CONSOLE),
                           "-cp", ":".join([str(test_classes), str(classes), *(str(j) for j in LIBRARIES)]),
                           "--scan-classpath", str(test_classes), "--include-classname", ".*",
                           "--reports-dir", str(ctx.report_dir / "junit"), "--disable-banner",
                           "--disable-ansi-colors", "--details=summary",
                           "--config=junit.jupiter.conditions.deactivate=org.junit.*DisabledCondition"),
                 tests=True),
        ]

    def plant(self, ctx: RunnerContext, test_files: Mapping[str, bytes], rng_name: Callable[[], str],
              rng_int: Callable[[int, int], int]) -> Canaries | None:
        beside = next((rel for rel in sorted(test_files) if rel.endswith(".java")), None)
        if beside is None:
            return None
        package = _PACKAGE.search(test_files[beside])
        failing, passing, name = rng_name(), rng_name(), rng_name().capitalize()
        a, b = rng_int(2, 10**6), rng_int(2, 10**6)
        tests = [(failing, a + b + rng_int(1, 999)), (passing, a + b)]
        if rng_int(0, 1):
            tests.reverse()
        body = "".join(f"    @org.junit.jupiter.api.Test\n    void {test}() {{\n"
                       f"        org.junit.jupiter.api.Assertions.assertEquals({value}L, {a}L + {b}L);\n    }}\n\n"
                       for test, value in tests)
        head = f"package {package.group(1).decode()};\n\n" if package else ""
        qualified = f"{package.group(1).decode()}.{name}" if package else name
        rel = (PurePosixPath(beside).parent / f"{name}.java").as_posix()
        return Canaries(files={rel: f"{head}class {name} {{\n{body}}}\n"},
                        must_fail=f"{qualified}::{failing}()", must_pass=f"{qualified}::{passing}()")

    def read(self, ctx: RunnerContext, runs: Sequence[StepRun]) -> Report | None:
        for run in runs:
            if not run.step.tests and run.result.exit_code != 0:
                return Report([], f"the {'tests' if run.step.what == 'build tests' else 'solution'} did not compile "
                                  f"(javac exit code {run.result.exit_code}): {first_error(read_output(run))}")
        reports = sorted((ctx.report_dir / "junit").glob("TEST-*.xml"))
        cases = read_junit_cases(reports, lambda classname, name: f"{classname}::{name}")
        if cases is None:
            return None
        return Report(_with_unique_ids(cases, reports))


def _java_files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*.java")
                  if path.is_file() and not path.is_symlink()
                  and not set(path.relative_to(root).parts[:-1]) & JavaToolchain.control.dirs)


def _with_unique_ids(cases: list[RunnerCase], reports: list[Path]) -> list[RunnerCase]:
    """Each case named by JUnit's unique id where the report gives one, in order (the launcher
    writes it in each testcase's system-out): ``Class::method()``, ``Class::method(int)::#2``."""
    ids: list[str | None] = []
    for path in reports:
        data = read_bounded(path, OUTPUT_MAX_BYTES)
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        for chunk in text.split("<testcase ")[1:]:
            found = _UNIQUE_ID.search(chunk.split("</testcase>")[0])
            ids.append(_readable(found.group(1)) if found else None)
    if len(ids) != len(cases):
        return cases
    return [RunnerCase(new, case.verdict, case.detail) if new else case for case, new in zip(cases, ids)]


def _readable(unique_id: str) -> str:
    """``DoublerTest::two()`` from ``[engine:junit-jupiter]/[class:DoublerTest]/[method:two()]``."""
    return "::".join(value for kind, value in _SEGMENT.findall(unique_id) if kind != "engine")

"""Tasks with their own test runner: real toolchains (go, cargo, jest, g++ with Catch2, javac
with the JUnit console launcher) in the real scoring sandbox, against the tiny hand-made tasks in
tests/fixtures/runners/<language>/double. A test whose toolchain is not installed here is
skipped, saying what installs it."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_arena.errors import ScoringUnavailable, TaskError
from pytest_arena.paths import default_install_root
from pytest_arena.sandbox.run import Limits
from pytest_arena.scoring.records import ScoreResult
from pytest_arena.scoring.runners import TOOLCHAIN_CHECKS, get_test_runner, runner_tools_dir
from pytest_arena.scoring.runners import common as runner_common
from pytest_arena.scoring.score import score
from pytest_arena.tasks.folder import Task, load_task

FIXTURES = Path(__file__).parent / "fixtures" / "runners"
LANGUAGES = ["go", "rust", "javascript", "cpp", "java"]
TESTS_IN_FIXTURE = {"go": 4, "rust": 2, "javascript": 2, "cpp": 3, "java": 3}  # subtests, sections, runs counted


def require(language: str) -> None:
    toolchain = get_test_runner(language).toolchain
    assert toolchain is not None
    problem = toolchain.missing(runner_tools_dir(default_install_root(), language))
    if problem:
        pytest.skip(f"the {language} runner cannot run here: {problem}")


def fixture_task(language: str, tmp_path: Path | None = None) -> Task:
    """The language's fixture task (a copy in ``tmp_path`` when given, to change it)."""
    folder = FIXTURES / language / "double"
    if tmp_path is not None:
        folder = Path(shutil.copytree(folder, tmp_path / "task"))
    return load_task(folder)


def scored(task: Task, tmp_path: Path, parts=("workspace", "reference"), extra: dict[str, str] | None = None,
           name: str = "run") -> ScoreResult:
    """Score a workspace made of the task's ``parts`` and ``extra`` files (what an agent left)."""
    workspace = tmp_path / name / "workspace"
    task.materialise(parts, workspace)
    for rel, text in (extra or {}).items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(text)
    return score(task, workspace, tmp_path / name / "scoring", limits=Limits(wall_s=task.spec.scoring_timeout_s))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_reference_passes_and_the_stub_fails_with_each_languages_own_runner(language, tmp_path):
    require(language)
    task = fixture_task(language)
    oracle = scored(task, tmp_path, name="oracle")
    assert (oracle.status, oracle.reason) == ("pass", f"all {TESTS_IN_FIXTURE[language]} tests passed")
    assert oracle.tests_passed == oracle.tests_total == TESTS_IN_FIXTURE[language]
    assert (oracle.runner, oracle.checks, oracle.tampering) == (language, TOOLCHAIN_CHECKS, None)
    null = scored(task, tmp_path, parts=("workspace",), name="null")
    assert null.status == "fail" and null.tampering is None, null.reason
    assert null.tests_passed < null.tests_total == TESTS_IN_FIXTURE[language]
    assert null.failures and null.reason.startswith(f"{null.tests_passed}/{null.tests_total} tests passed; ")
    assert null.failures[0] in null.reason
    # The cell folder's junit.xml: one testcase per reported test, the failures with their message.
    assert null.junit_path is not None and null.junit_path.read_text().count("<testcase ") >= null.tests_total


def test_a_go_solution_that_reports_every_test_passed_is_caught_by_the_planted_failing_test(tmp_path):
    require("go")
    task = fixture_task("go")
    # It finds every test function on disk and prints go test's own PASS lines for each, subtests
    # included, then exits 0 (syscall.Exit: the testing package catches os.Exit): test2json believes
    # the lines. The planted failing test is among them.
    cheat = '''package double

import (
\t"fmt"
\t"os"
\t"path/filepath"
\t"regexp"
\t"syscall"
)

func Double(x int) int {
\tfiles, _ := filepath.Glob("*_test.go")
\tfor _, f := range files {
\t\tsource, _ := os.ReadFile(f)
\t\tfor _, m := range regexp.MustCompile(`func (Test\\w+)\\(`).FindAllSubmatch(source, -1) {
\t\t\tfor _, sub := range []string{"", "/two", "/negative", "/zero"} {
\t\t\t\tfmt.Printf("--- PASS: %s%s (0.00s)\\n", m[1], sub)
\t\t\t}
\t\t}
\t}
\tfmt.Println("PASS")
\tsyscall.Exit(0)
\treturn 0
}
'''
    result = scored(task, tmp_path, parts=("workspace",), extra={"double.go": cheat})
    assert result.status == "fail"
    assert result.tampering == "the report claims that a planted test which must fail passed"
    assert result.tests_passed == 0 and result.reason.startswith("tampering detected: ")


def test_the_agents_own_tests_and_build_files_are_not_scored_and_the_tests_are_restored(tmp_path):
    require("go")
    task = fixture_task("go")
    result = scored(task, tmp_path, extra={
        "double_test.go": "package double\n",  # the task's tests, emptied: restored from the task
        # the agent's own copy of a task test: compiled beside the task's, it would not build
        "mine_test.go": 'package double\n\nimport "testing"\n\nfunc TestDouble(t *testing.T) { t.Fatal("mine") }\n',
        "go.mod": "module double\n\ngo 1.18\n\nthis line breaks go.mod\n",  # restored from the task
    })
    assert (result.status, result.tests_passed, result.tests_total) == ("pass", 4, 4), result.reason


def test_a_rust_test_program_that_prints_passes_and_exits_early_is_tampering(tmp_path):
    require("rust")
    task = fixture_task("rust")
    # Straight to stdout (libtest captures print!, not this), then exit 0 before libtest's summary.
    cheat = ('use std::io::Write;\n\npub fn double(_x: i64) -> i64 {\n    let mut out = std::io::stdout();\n'
             '    for name in ["two", "negative"] {\n        let _ = writeln!(out, "test {name} ... ok");\n    }\n'
             '    let _ = out.flush();\n    std::process::exit(0)\n}\n')
    result = scored(task, tmp_path, parts=("workspace",), extra={"src/lib.rs": cheat})
    assert result.status == "fail" and result.tests_passed == 0
    # Which check catches it depends on libtest's test threads: the exit usually comes before the
    # summary; under load another thread can finish the run and print a summary first, and that
    # summary then disagrees with the forged lines (seen once on a loaded machine).
    assert re.fullmatch(r"tests/double\.rs: (test lines, but the test program ended without libtest's summary, "
                        r"successfully|the test lines report \d+ passed, \d+ failed, \d+ ignored, its summary "
                        r"\d+, \d+, \d+)", result.tampering or ""), result.tampering


def test_a_rust_test_program_that_crashes_counts_its_unreported_tests_as_not_passed(tmp_path):
    require("rust")
    task = fixture_task("rust")
    crash = "pub fn double(x: i64) -> i64 {\n    if x < 0 {\n        std::process::abort();\n    }\n    2 * x\n}\n"
    result = scored(task, tmp_path, parts=("workspace",), extra={"src/lib.rs": crash})
    assert result.status == "fail" and result.tampering is None, result.reason
    assert result.tests_total == 2 and result.tests_passed <= 1
    assert "tests/double.rs::negative" in result.failures


def test_a_javascript_solution_that_rewrites_jests_report_is_caught_by_the_planted_failing_test(tmp_path):
    require("javascript")
    task = fixture_task("javascript")
    # The tests run in jest's own process (in band): the solution reaches jest's own module cache
    # (the core module `module` is the host's) and patches the graceful-fs jest writes its JSON
    # report with, turning every failure into a pass.
    cheat = ("const cache = require('module')._cache;\n"
             "const fs = cache[Object.keys(cache).find((k) => k.endsWith('/graceful-fs/graceful-fs.js'))].exports;\n"
             "const write = fs.writeFileSync;\n"
             "fs.writeFileSync = function (file, data, ...rest) {\n"
             "  if (String(file).endsWith('.json') && typeof data === 'string') {\n"
             "    data = data.replace(/\"status\":\"failed\"/g, '\"status\":\"passed\"');\n  }\n"
             "  return write.call(this, file, data, ...rest);\n};\n"
             "export const double = (x) => 0;\n")
    result = scored(task, tmp_path, parts=("workspace",), extra={"double.js": cheat})
    assert result.status == "fail" and result.tests_passed == 0
    assert result.tampering == "the report claims that a planted test which must fail passed"


def test_a_cpp_task_that_vendors_catch_and_its_main_in_test_builds_with_them(tmp_path):
    """Exercism's C++ layout: test/catch.hpp (Catch2's single header) and test/tests-main.cpp
    (its main) beside the test file, which includes "test/catch.hpp". Here the header is a copy
    of Debian's, made in tmp_path."""
    require("cpp")
    task = fixture_task("cpp", tmp_path)
    vendored = task.root / "tests" / "test"
    vendored.mkdir()
    shutil.copy("/usr/include/catch2/catch.hpp", vendored / "catch.hpp")
    (vendored / "tests-main.cpp").write_text('#define CATCH_CONFIG_MAIN\n#include "catch.hpp"\n')
    test_file = task.root / "tests" / "double_test.cpp"
    test_file.write_text(test_file.read_text().replace("#include <catch2/catch.hpp>", '#include "test/catch.hpp"'))
    task = load_task(task.root)
    oracle = scored(task, tmp_path, name="oracle")
    assert (oracle.status, oracle.tests_passed, oracle.tests_total) == ("pass", 3, 3), oracle.reason
    # the planted tests include the header the task's tests include, and one program has them all
    assert '#include "test/catch.hpp"' in next(p for p in (tmp_path / "oracle").glob("scoring/z*_test.cpp")).read_text()


def test_a_reference_that_fails_its_own_tests_is_a_task_error_naming_the_task(tmp_path):
    require("go")
    task = fixture_task("go", tmp_path)
    (task.root / "reference" / "double.go").write_text("package double\n\nfunc Double(x int) int {\n\treturn x\n}\n")
    with pytest.raises(TaskError, match=r"task runners-go/double \(.*\): its tests, run with go test against the "
                                        r"reference solution, do not all pass \(TestDouble/two: .*Fix tests/"):
        scored(task, tmp_path)


def test_a_missing_toolchain_makes_the_task_unscorable_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_common, "SYSTEM_PATH", str(tmp_path / "empty"))
    with pytest.raises(ScoringUnavailable, match=r"runs its tests with go test \(runner: go\), which this machine "
                                                 r"cannot run: go is not installed.*apt-get install golang-go"):
        scored(fixture_task("go"), tmp_path)


def test_task_yaml_names_a_registered_runner_or_gets_one_line_naming_file_and_field(tmp_path):
    task = fixture_task("go", tmp_path)
    spec = task.root / "task.yaml"
    spec.write_text(spec.read_text().replace("runner: go", "runner: golang"))
    with pytest.raises(TaskError) as raised:
        load_task(task.root)
    assert str(raised.value).startswith(f"{spec}: field 'runner': unknown test runner 'golang'; did you mean 'go'?")
    spec.write_text(spec.read_text().replace("runner: golang", "runner: Go Test"))
    with pytest.raises(TaskError, match=rf"{spec}.*runner"):
        load_task(task.root)


def test_a_pytest_task_says_nothing_of_its_runner_in_its_measured_settings_or_its_row():
    from pytest_arena.cell.rows import Scoring

    pig = load_task(Path(__file__).parents[1] / "tasks" / "puzzles" / "pig-latin")
    assert pig.test_runner == "pytest" and "runner" not in pig.spec.model_dump(mode="json")
    assert fixture_task("go").spec.model_dump(mode="json")["runner"] == "go"
    plain = Scoring(tampering_detected=False, tampering=None, env="abc")
    assert plain.model_dump(mode="json") == {"tampering_detected": False, "tampering": None, "env": "abc"}
    go = Scoring(tampering_detected=False, tampering=None, env=None, runner="go", checks=list(TOOLCHAIN_CHECKS))
    assert go.model_dump(mode="json")["checks"] == list(TOOLCHAIN_CHECKS)


def test_the_report_says_which_cross_checks_stood_behind_each_runners_verdicts():
    from pytest_arena.analysis.report.cross_checks import cross_check_lines

    pytest_row = {"scoring": {"tampering_detected": False, "tampering": None, "env": "abc"}}
    go_row = {"scoring": {"tampering_detected": False, "tampering": None, "env": None, "runner": "go",
                          "checks": list(TOOLCHAIN_CHECKS)}}
    assert cross_check_lines([pytest_row, pytest_row, {"scoring": None}]) == []  # as it always said
    assert cross_check_lines([pytest_row, go_row, go_row]) == [
        "go (2 scored runs): restored-tests, canaries, reference-tests, exit-code; not applied: pristine-collection",
        "pytest (1 scored run): restored-tests, canaries, pristine-collection, exit-code"]


def test_setup_checks_each_runner_and_names_the_package_a_missing_one_needs(tmp_path):
    require("go")
    done = subprocess.run([sys.executable, "-m", "pytest_arena", "setup", "--runners", "go", "--root", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "go: ready (go test, go-" in done.stdout, done.stdout + done.stderr
    unknown = subprocess.run([sys.executable, "-m", "pytest_arena", "setup", "--runners", "gol", "--root",
                              str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 1
    assert "--runners: unknown test runner 'gol'; did you mean 'go'?" in unknown.stderr


def test_a_sweep_over_a_go_task_records_the_runner_and_its_checks_in_each_row(pytester):
    require("go")
    from core.arena_project import make_config  # tests/ is on sys.path

    shutil.copytree(FIXTURES / "go" / "double", pytester.path / "tasks" / "puzzles" / "double")
    make_config(pytester.path, expect={"null": "fail"})
    result = pytester.runpytest("--arena-config", "arena.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    rows = {r["route"]: r for r in map(json.loads, (pytester.path / "results/demo/raw.jsonl").read_text().splitlines())}
    assert rows["oracle"]["outcome"] == "pass" and rows["null"]["outcome"] == "fail"
    for row in rows.values():
        assert row["scoring"]["runner"] == "go" and row["scoring"]["checks"] == list(TOOLCHAIN_CHECKS)
        assert row["quality"]["tests_total"] == 4
        assert row["agent_test_commands"] == []  # the system's go is in the agent's sandbox already
        # the cell folder's test output says which runner produced it
        told = (pytester.path / "results/demo" / row["output_ref"] / "test_output.txt").read_text()
        assert "---- go output ----" in told and "pytest" not in told
    summary = (pytester.path / "results/demo/summary.md").read_text()
    assert "go (2 scored runs): restored-tests, canaries, reference-tests, exit-code; not applied: " \
           "pristine-collection" in summary

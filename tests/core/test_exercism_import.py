"""`python -m pytest_arena tasks import exercism SOURCE --out DIR` turns Exercism-layout exercises
into task folders a sweep selects with ``benchmark.tasks_dir`` and globs in ``benchmark.task_ids``.
Every exercise goes through the harness's real oracle/null check (sandboxed scoring); what fails it
is skipped with its reason, never kept. The trees here are tiny exercises of our own, in both
layouts (one track; several tracks as aider's polyglot-benchmark)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from pytest_arena.docgen.task_table import main as tasks_main
from pytest_arena.paths import default_install_root
from pytest_arena.scoring.runners import get_test_runner, runner_tools_dir
from pytest_arena.scoring.validation import harness_check
from pytest_arena.tasks.classes import expand_task_ids, read_task_folders
from pytest_arena.tasks.exercism import IMPORTER_MARK, import_exercism, place_examples

from .exercism_trees import MIT, POLYGLOT, exercise, polyglot_exercise

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"exercism-python/pig-latin": ROOT / "tasks" / "puzzles" / "pig-latin"}


def python_track(root: Path) -> Path:
    """A track of five exercises: two good, one whose example fails, one whose stub passes, one
    deprecated; and pig-latin, whose id pytest-arena already ships."""
    track = root / "python"
    track.mkdir(parents=True)
    (track / "config.json").write_text(json.dumps({"language": "Python", "slug": "python", "exercises": {
        "practice": [{"slug": "retired", "status": "deprecated"}]}}))
    (track / "LICENSE").write_text(MIT)
    exercise(track, "doubler", docs={"introduction.md": "Numbers grow.\n",
                                     "instructions.append.md": "# Python notes\n\nNo imports needed.\n"})
    exercise(track, "twice")
    exercise(track, "bad-example", example="return 3 * x")
    exercise(track, "passing-stub", stub="return x + x")
    exercise(track, "retired")
    exercise(track, "pig-latin")
    return track


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("exercism-import")}


def report(out: Path) -> dict:
    return json.loads((out / "exercism-import.json").read_text())


def entries(out: Path, language: str = "python") -> dict[str, dict]:
    return {e["exercise"]: e for e in report(out)["languages"][language]["exercises"]}


def run_import(source: Path, out: Path, **kwargs) -> list:
    kwargs.setdefault("validate", harness_check)
    kwargs.setdefault("shipped", SHIPPED)
    return import_exercism(source, out, jobs=2, log=lambda line: None, **kwargs)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The python track (a git checkout with a token in its remote URL) imported once."""
    root = tmp_path_factory.mktemp("exercism")
    track = python_track(root)
    git(track, "init", "-q")
    git(track, "remote", "add", "origin", "https://someone:s3cret-token@example.org/exercism/python.git")
    git(track, "add", ".")
    git(track, "commit", "-q", "-m", "track")
    out = root / "out"
    run_import(track, out)
    return track, out


def test_each_exercise_becomes_a_task_folder_with_prompt_stub_tests_and_reference(imported):
    track, out = imported
    folder = out / "exercism-python" / "doubler"
    spec = yaml.safe_load((folder / "task.yaml").read_text())
    commit = git(track, "rev-parse", "HEAD")
    assert spec["id"] == "exercism-python/doubler" and spec["class"] == "puzzles" and spec["shape"] == "puzzle"
    assert spec["tests_visible"] is True and "runner" not in spec  # Python: the default runner, pytest
    assert spec["source"].startswith("Exercism python track, exercises/practice/doubler, "
                                     f"https://example.org/exercism/python.git at {commit[:12]}")
    assert spec["source"].endswith(IMPORTER_MARK) and "s3cret" not in (folder / "task.yaml").read_text()
    assert spec["license"].startswith("MIT") and (out / "exercism-python" / "LICENSE").read_text() == MIT
    assert spec["stresses"] == "Double a number (doubler)."
    prompt = (folder / "prompt.md").read_text()
    # introduction, instructions, then the track's append, then our paragraph naming files and command
    assert prompt.index("Numbers grow.") < prompt.index("Write `double(x)`") < prompt.index("No imports needed.")
    assert "editing `doubler.py`" in prompt and "`doubler_test.py`" in prompt and "`pytest -q`" in prompt
    assert (folder / "workspace" / "doubler.py").read_text() == "def double(x):\n    pass\n"
    assert (folder / "reference" / "doubler.py").read_text() == "def double(x):\n    return 2 * x\n"
    assert (folder / "tests" / "doubler_test.py").read_text().startswith("import unittest")
    assert sorted(p.name for p in folder.iterdir()) == ["prompt.md", "reference", "task.yaml", "tests", "workspace"]


def test_what_fails_the_oracle_null_check_is_skipped_with_its_reason(imported):
    _, out = imported
    got = entries(out)
    assert {slug: e["status"] for slug, e in got.items()} == {
        "bad-example": "skipped", "doubler": "validated", "passing-stub": "skipped", "pig-latin": "validated",
        "retired": "skipped", "twice": "validated"}
    assert "reference solution does not pass" in got["bad-example"]["reason"]
    assert "AssertionError: 6 != 4" in got["bad-example"]["reason"]
    assert "null agent would pass" in got["passing-stub"]["reason"]
    assert got["retired"]["reason"] == "deprecated in the track's config.json"
    assert sorted(p.name for p in (out / "exercism-python").iterdir()) == [
        "LICENSE", "doubler", "pig-latin-upstream", "twice"]
    assert report(out)["languages"]["python"]["counts"] == {"found": 6, "imported": 3, "validated": 3, "skipped": 3}
    md = (out / "exercism-import.md").read_text()
    assert "| python | 6 | 3 | 3 | 3 |" in md and "- `passing-stub`: the workspace as given (the stub)" in md


def test_a_shipped_id_is_never_reused_the_upstream_exercise_gets_its_own(imported):
    _, out = imported
    shipped = (ROOT / "tasks" / "puzzles" / "pig-latin" / "task.yaml").read_text()
    spec = yaml.safe_load((out / "exercism-python" / "pig-latin-upstream" / "task.yaml").read_text())
    assert spec["id"] == "exercism-python/pig-latin-upstream"
    assert "imported as exercism-python/pig-latin-upstream" in entries(out)["pig-latin"]["notes"][0]
    assert "exercism-python/pig-latin-upstream" in (out / "exercism-import.md").read_text()
    assert (ROOT / "tasks" / "puzzles" / "pig-latin" / "task.yaml").read_text() == shipped
    # Both in one tasks folder load side by side (ids differ).
    both = read_task_folders(out)
    assert "exercism-python/pig-latin-upstream" in both.tasks


def test_re_running_changes_nothing_and_does_not_check_again(imported, tmp_path):
    track, first = imported
    out = tmp_path / "out"
    run_import(track, out)
    before = tree(out)
    assert before == tree(first)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    run_import(track, out)
    assert tree(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and "exercism-import" not in p.name} == {
        p: t for p, t in mtimes.items() if "exercism-import" not in p.name}
    again = entries(out)["doubler"]
    assert again["status"] == "validated" and again["check_s"] is None and "unchanged" in again["reason"]


def test_an_exercise_that_breaks_upstream_is_removed_and_a_folder_not_ours_is_never_touched(tmp_path):
    track = tmp_path / "python"
    exercise(track, "doubler")
    exercise(track, "twice")
    out = tmp_path / "out"
    run_import(track, out)
    mine = out / "exercism-python" / "handmade"
    (mine / "workspace").mkdir(parents=True)
    (mine / "task.yaml").write_text("id: mine/handmade\n")  # a folder of the user's own, where an import would go
    exercise(track, "handmade")
    exercise(track, "twice", example="return x")  # upstream broke it
    run_import(track, out)
    got = entries(out)
    assert not (out / "exercism-python" / "twice").exists()
    assert got["twice"]["status"] == "skipped" and "does not pass" in got["twice"]["reason"]
    assert report(out)["languages"]["python"]["removed"] == ["exercism-python/twice"]
    assert (mine / "task.yaml").read_text() == "id: mine/handmade\n"
    assert got["handmade"]["status"] == "skipped" and "not written by this importer" in got["handmade"]["reason"]
    assert (out / "exercism-python" / "doubler" / "task.yaml").is_file()


def test_missing_files_are_skipped_with_the_file_named(tmp_path):
    track = tmp_path / "python"
    exercise(track, "no-config", drop=(".meta/config.json",))
    exercise(track, "no-docs", drop=(".docs/instructions.md",))
    exercise(track, "no-stub", drop=("no_stub.py",))
    exercise(track, "no-example-listed", config={"files": {"solution": ["x.py"], "test": ["x_test.py"]}})
    exercise(track, "binary-extra")
    (track / "exercises/practice/binary-extra/data.bin").write_bytes(b"\xff\xfe\x00")
    run_import(track, tmp_path / "out", validate=None)
    got = entries(tmp_path / "out")
    assert got["no-config"]["reason"] == "no .meta/config.json"
    assert got["no-docs"]["reason"] == "no .docs/instructions.md"
    assert got["no-stub"]["reason"] == "files.solution names no_stub.py, which is not there"
    assert got["no-example-listed"]["reason"] == ".meta/config.json names no files.example"
    binary = got["binary-extra"]
    assert binary["status"] == "imported" and binary["reason"] == "not validated: the import ran with --no-validate"
    assert binary["notes"] == ["left out data.bin: not UTF-8 text"]


def test_several_tracks_each_get_their_language_and_the_unsupported_one_says_why(tmp_path):
    source = tmp_path / "polyglot"
    (source / "LICENSE").parent.mkdir(parents=True)
    (source / "LICENSE").write_text(MIT)
    exercise(source / "python", "doubler")
    exercise(source / "cobol", "doubler")
    out = tmp_path / "out"
    reports = run_import(source, out)
    assert [r.language for r in reports] == ["cobol", "python"]
    got = report(out)["languages"]
    assert got["python"]["counts"] == {"found": 1, "imported": 1, "validated": 1, "skipped": 0}
    assert got["python"]["track"] == "python" and got["python"]["licence"] == "MIT"  # the repository's LICENSE
    assert got["cobol"]["language_skipped"].startswith("no test runner for cobol exercises")
    assert got["cobol"]["counts"]["skipped"] == 1 and not (out / "exercism-cobol").exists()
    spec = yaml.safe_load((out / "exercism-python" / "doubler" / "task.yaml").read_text())
    assert spec["source"].startswith("Exercism python track, python/exercises/practice/doubler")
    # A second run of one language keeps the other's section of the report.
    run_import(source, out, languages=["python"], only=["dou*"])
    assert set(report(out)["languages"]) == {"cobol", "python"}


def toolchain_missing(language: str) -> str | None:
    toolchain = get_test_runner(language).toolchain
    return toolchain.missing(runner_tools_dir(default_install_root(), language)) if toolchain else None


def test_every_polyglot_language_imports_with_its_runner_and_passes_the_harness_check(tmp_path):
    source = tmp_path / "polyglot"
    for language in POLYGLOT:
        polyglot_exercise(source, language)
    jar = source / "java/exercises/practice/doubler/gradle/wrapper/gradle-wrapper.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"PK\x03\x04\xff\xfe")
    out = tmp_path / "out"
    run_import(source, out)
    for language in POLYGLOT:
        entry = entries(out, language)["doubler"]
        folder = out / f"exercism-{language}" / "doubler"
        assert yaml.safe_load((folder / "task.yaml").read_text())["runner"] == language
        if toolchain_missing(language):  # a machine without the toolchain says so, and keeps the task
            assert entry["status"] == "imported", entry
            assert entry["reason"].startswith(f"not validated: runner {language} not available"), entry
        else:
            assert entry["status"] == "validated", entry
    layout = {language: sorted(tree(out / f"exercism-{language}" / "doubler")) for language in POLYGLOT}
    assert layout["go"] == ["prompt.md", "reference/doubler.go", "task.yaml", "tests/doubler_test.go",
                            "workspace/doubler.go", "workspace/go.mod"]
    assert layout["rust"] == ["prompt.md", "reference/src/lib.rs", "task.yaml", "tests/tests/doubler.rs",
                              "workspace/Cargo.toml", "workspace/src/lib.rs"]
    assert layout["cpp"] == ["prompt.md", "reference/doubler.cpp", "reference/doubler.h", "task.yaml",
                             "tests/doubler_test.cpp", "tests/test/catch.hpp", "workspace/CMakeLists.txt",
                             "workspace/doubler.cpp", "workspace/doubler.h"]
    assert layout["java"] == ["prompt.md", "reference/src/main/java/Doubler.java", "task.yaml",
                              "tests/src/test/java/DoublerTest.java", "workspace/build.gradle", "workspace/gradlew",
                              "workspace/src/main/java/Doubler.java"]
    assert "workspace/babel.config.js" in layout["javascript"] and "tests/doubler.spec.js" in layout["javascript"]
    assert entries(out, "java")["doubler"]["notes"] == ["left out gradle/wrapper/gradle-wrapper.jar: not UTF-8 text"]
    assert "They run with `cargo test -- --include-ignored`." in (out / "exercism-rust/doubler/prompt.md").read_text()


def test_examples_land_on_the_solution_paths_in_every_tracks_shape():
    assert place_examples([".meta/example.py"], ["pig_latin.py"]) == {".meta/example.py": "pig_latin.py"}
    assert place_examples([".meta/example.rs"], ["src/lib.rs", "Cargo.toml"]) == {".meta/example.rs": "src/lib.rs"}
    assert place_examples([".meta/example.cpp", ".meta/example.h"], ["bob.cpp", "bob.h"]) == {
        ".meta/example.cpp": "bob.cpp", ".meta/example.h": "bob.h"}
    java = place_examples([".meta/src/reference/java/Bob.java", ".meta/src/reference/java/Helper.java"],
                          ["src/main/java/Bob.java"])
    assert java == {".meta/src/reference/java/Bob.java": "src/main/java/Bob.java",
                    ".meta/src/reference/java/Helper.java": "src/main/java/Helper.java"}
    assert place_examples([".meta/proof.ci.js"], ["bob.js"]) == {".meta/proof.ci.js": "bob.js"}


# --- selecting imported tasks ------------------------------------------------------------------

def sweep_config(root: Path, tasks_dir: Path, task_ids: list[str]) -> Path:
    path = root / "arena.yaml"
    path.write_text(textwrap.dedent(f"""\
        variant_tag: demo
        out_dir: results/demo
        models: {{cloud: scripted, local: embedded/smollm2-135m}}
        benchmark:
          tasks_dir: {tasks_dir}
          task_classes: [puzzles]
          task_ids: {json.dumps(task_ids)}
          agents: [oracle, null]
          expect: {{null: fail}}
        analysis: {{resamples: 200, charts: false}}
        """))
    return path


def test_a_sweep_selects_imported_tasks_by_glob_and_runs_them(imported, pytester):
    _, out = imported
    sweep_config(pytester.path, out, ["exercism-python/*", "!exercism-python/pig-latin-upstream"])
    listed = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "--collect-only", "-q")
    assert [line for line in listed.outlines if "::" in line] == [
        "arena.yaml::exercism-python/doubler[oracle-s42]", "arena.yaml::exercism-python/doubler[null-s42]",
        "arena.yaml::exercism-python/twice[oracle-s42]", "arena.yaml::exercism-python/twice[null-s42]"]
    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    rows = [json.loads(line) for line in (pytester.path / "results/demo/raw.jsonl").read_text().splitlines()]
    assert {(r["task_id"], r["route"], r["outcome"]) for r in rows} == {
        ("exercism-python/doubler", "oracle", "pass"), ("exercism-python/doubler", "null", "fail"),
        ("exercism-python/twice", "oracle", "pass"), ("exercism-python/twice", "null", "fail")}


def test_a_glob_matching_nothing_names_the_config_file_and_field(imported, pytester):
    _, out = imported
    config = sweep_config(pytester.path, out, ["exercism-pyton/*"])
    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "--collect-only", "-q")
    assert result.ret != 0
    text = result.stdout.str() + result.stderr.str()
    assert (f"{config}: field 'benchmark.task_ids': the pattern 'exercism-pyton/*' matches no task; "
            "did you mean 'exercism-python/*'?") in text
    assert "Traceback" not in text


def test_a_glob_selecting_a_shipped_task_and_its_upstream_twin_says_which_to_drop(imported, tmp_path):
    _, out = imported
    both = tmp_path / "tasks"
    (both / "puzzles").mkdir(parents=True)
    (both / "puzzles" / "pig-latin").symlink_to(ROOT / "tasks" / "puzzles" / "pig-latin")
    (both / "exercism-python").symlink_to(out / "exercism-python")
    registry = read_task_folders(both)
    with pytest.raises(ValueError) as caught:
        expand_task_ids(["exercism-python/*"], registry, ["puzzles"])
    assert "selects both exercism-python/pig-latin" in str(caught.value)
    assert "Add '!exercism-python/pig-latin-upstream' or '!exercism-python/pig-latin'" in str(caught.value)
    assert expand_task_ids(["exercism-python/*", "!exercism-python/pig-latin"], registry, ["puzzles"]) == [
        "exercism-python/doubler", "exercism-python/pig-latin-upstream", "exercism-python/twice"]
    assert expand_task_ids(["!exercism-python/pig-latin*"], registry, ["puzzles"]) == [
        "exercism-python/doubler", "exercism-python/twice"]
    with pytest.raises(ValueError, match=r"'!exercism-python/piglatin' drops nothing: it matches no selected task"):
        expand_task_ids(["exercism-python/d*", "!exercism-python/piglatin"], registry, ["puzzles"])
    assert expand_task_ids(["exercism-python/pig-latin", "exercism-python/pig-latin-upstream"], registry,
                           ["puzzles"]) == ["exercism-python/pig-latin", "exercism-python/pig-latin-upstream"]


# --- the command -------------------------------------------------------------------------------

def test_the_tasks_command_imports_and_still_prints_the_table(tmp_path, capsys):
    track = tmp_path / "python"
    exercise(track, "doubler")
    exercise(track, "bad-example", example="return 3 * x")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "pytest_arena", "tasks", "import", "exercism", str(track),
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "python: 2 exercises: 1 imported (1 validated), 1 skipped" in done.stdout
    assert "python/bad-example: skipped: the reference solution does not pass its tests" in done.stdout
    assert tasks_main(["table", "--tasks-dir", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| `exercism-python/doubler` | puzzles | puzzle | 1 | Double a number (doubler). |" in table
    bad = subprocess.run([sys.executable, "-m", "pytest_arena", "tasks", "import", "exercism", str(tmp_path / "nope"),
                          "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"error: {tmp_path / 'nope'}: no such folder.")

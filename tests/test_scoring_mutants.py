"""The scorer's cross-checks as plain functions, at their edges (benchmarks/mutation.py found
branches the end-to-end scoring tests never take: a module's collection error standing for its
tests, a duplicated report entry, a planted test cut by a sandbox cap, a real-prs task's ids)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_arena.scoring import score as scoring
from pytest_arena.scoring.score import Canaries, _Case

F, P = ("pkg/test_calc.py", "pkg.test_calc", "test_zzfail"), ("pkg/test_calc.py", "pkg.test_calc", "test_zzpass")
CANARIES = Canaries(path="pkg/test_zzmod.py", must_fail=("pkg/test_zzmod.py", "pkg.test_zzmod", "test_f"),
                    must_pass=("pkg/test_zzmod.py", "pkg.test_zzmod", "test_p"))
REAL = [("pkg/test_calc.py", "pkg.test_calc", "test_add"), ("pkg/test_calc.py", "pkg.test_calc.TestDiv", "test_zero"),
        ("pkg/test_more.py", "pkg.test_more", "test_one")]


def case(key, verdict="passed", detail=""):
    return _Case(key, verdict, detail)


def planted(fail_verdict="failed", pass_verdict="passed"):
    return [case(CANARIES.must_fail, fail_verdict, "assert 1 == 2"), case(CANARIES.must_pass, pass_verdict)]


# --- the planted tests ------------------------------------------------------------------------

def test_honest_planted_reports_raise_no_flag():
    assert scoring._canary_tampering(planted(), CANARIES, tests_passed=True) is None
    assert scoring._canary_tampering(planted("error"), CANARIES, tests_passed=True) is None


def test_a_must_fail_test_reported_passed_is_tampering():
    assert "must fail passed" in scoring._canary_tampering(planted("passed"), CANARIES, tests_passed=False)


def test_a_planted_test_listed_twice_is_tampering():
    cases = planted() + [case(CANARIES.must_pass)]
    assert "more than once" in scoring._canary_tampering(cases, CANARIES, tests_passed=False)
    # the must-fail one twice (failed, then an error in teardown) is what pytest itself writes
    cases = planted() + [case(CANARIES.must_fail, "error")]
    assert scoring._canary_tampering(cases, CANARIES, tests_passed=True) is None


def test_a_left_out_must_fail_test_is_tampering_unless_a_cap_explains_it():
    cases = [case(CANARIES.must_pass)]
    assert "leaves out" in scoring._canary_tampering(cases, CANARIES, tests_passed=False)
    capped = [case(CANARIES.must_pass, "error", "E   MemoryError")]
    assert scoring._canary_tampering(capped, CANARIES, tests_passed=True) is None


def test_a_must_pass_test_not_passing_matters_only_when_every_real_test_passed():
    for cases in (planted(pass_verdict="failed"), planted()[:1]):
        assert "must pass did not pass" in scoring._canary_tampering(cases, CANARIES, tests_passed=True)
        assert scoring._canary_tampering(cases, CANARIES, tests_passed=False) is None


def test_a_planted_test_or_its_module_cut_by_a_cap_is_found():
    hit = case(CANARIES.must_pass, "failed", "BlockingIOError: [Errno 11] Resource temporarily unavailable")
    assert scoring._capped_canary([*planted()[:1], hit], CANARIES) == hit
    module = case((CANARIES.path, "", "pkg.test_zzmod"), "error", "E   MemoryError")
    assert scoring._capped_canary([module], CANARIES) == module


def test_no_cap_without_a_cap_sign_or_on_another_test():
    assert scoring._capped_canary([case(CANARIES.must_pass, "failed", "AssertionError")], CANARIES) is None
    assert scoring._capped_canary([case(CANARIES.must_pass, "passed", "MemoryError")], CANARIES) is None
    other_module = case(("pkg/test_calc.py", "", "pkg.test_calc"), "error", "MemoryError")
    assert scoring._capped_canary([other_module, case(REAL[0], "failed", "MemoryError")], CANARIES) is None


# --- the pristine collection ------------------------------------------------------------------

def test_the_pristine_tests_exactly_raise_no_flag():
    assert scoring._collection_mismatch([case(k) for k in REAL], frozenset(REAL)) is None


def test_a_missing_test_is_named():
    message = scoring._collection_mismatch([case(k) for k in REAL[1:]], frozenset(REAL))
    assert message == ("the JUnit report does not match the pristine collection of 3 tests "
                       "(missing pkg/test_calc.py::test_add)")


def test_an_extra_test_is_named():
    extra = ("pkg/test_calc.py", "pkg.test_calc", "test_invented")
    message = scoring._collection_mismatch([case(k) for k in [*REAL, extra]], frozenset(REAL))
    assert message.endswith("(extra pkg/test_calc.py::test_invented)")


def test_a_passed_test_reported_twice_is_duplicated_but_a_failure_with_a_teardown_error_is_not():
    message = scoring._collection_mismatch([case(k) for k in [*REAL, REAL[0]]], frozenset(REAL))
    assert message.endswith("(duplicated pkg/test_calc.py::test_add)")
    cases = [case(REAL[0], "failed"), case(REAL[0], "error"), *map(case, REAL[1:])]
    assert scoring._collection_mismatch(cases, frozenset(REAL)) is None


def test_a_module_that_did_not_collect_stands_for_its_tests_and_its_classes():
    broken = case(("pkg/test_calc.py", "", "pkg.test_calc"), "error", "collection failure")
    assert scoring._collection_mismatch([broken, case(REAL[2])], frozenset(REAL)) is None
    # ...but not for another module whose name only starts the same
    other = ("pkg/test_calc2.py", "pkg.test_calc2", "test_x")
    message = scoring._collection_mismatch([broken, case(REAL[2])], frozenset([*REAL, other]))
    assert "missing pkg/test_calc2.py::test_x" in message


def test_a_module_entry_that_passed_is_an_extra_and_one_that_failed_is_not():
    module_passed = case(("pkg/test_calc.py", "", "pkg.test_calc"), "passed")
    assert "extra" in scoring._collection_mismatch([*map(case, REAL), module_passed], frozenset(REAL))
    module_skipped = case(("pkg/test_new.py", "", "pkg.test_new"), "skipped")
    assert scoring._collection_mismatch([*map(case, REAL), module_skipped], frozenset(REAL)) is None


def test_a_root_level_collection_error_stands_for_every_test():
    everything = case(("", "", ""), "error", "collection failure")
    assert scoring._collection_mismatch([everything], frozenset(REAL)) is None


def test_at_most_three_ids_are_named_then_how_many_more():
    many = [("t.py", "t", f"test_{i}") for i in range(5)]
    message = scoring._collection_mismatch([], frozenset(many))
    assert message.endswith("(missing t.py::test_0, t.py::test_1, t.py::test_2 and 2 more)")
    four = scoring._collection_mismatch([], frozenset(many[:3]))
    assert four.endswith("(missing t.py::test_0, t.py::test_1, t.py::test_2)")


# --- verdicts per test ------------------------------------------------------------------------

def test_a_test_with_several_entries_takes_its_first_that_did_not_pass():
    cases = [case(REAL[0]), case(REAL[0], "failed", "f"), case(REAL[0], "error", "e"), case(REAL[1])]
    merged = scoring._merged(cases)
    assert [(c.key, c.verdict, c.detail) for c in merged] == [(REAL[0], "failed", "f"), (REAL[1], "passed", "")]


def test_a_real_prs_task_counts_only_its_ids_and_a_missing_one_as_not_passed():
    task = SimpleNamespace(test_ids=["pkg/test_calc.py::test_add", "pkg/test_calc.py::TestDiv::test_zero",
                                     "pkg/test_gone.py::test_x"])
    counted = scoring._counted(task, [case(k) for k in REAL])
    assert [(c.test_id, c.verdict) for c in counted] == [
        ("pkg/test_calc.py::test_add", "passed"), ("pkg/test_calc.py::TestDiv::test_zero", "passed"),
        ("pkg/test_gone.py::test_x", "error")]
    assert counted[2].detail == "not in the JUnit report"
    assert scoring._counted(SimpleNamespace(test_ids=[]), [case(REAL[0])]) == [case(REAL[0])]


@pytest.mark.parametrize("key, test_id", [
    (("pkg/test_calc.py", "pkg.test_calc", "test_add"), "pkg/test_calc.py::test_add"),
    (("pkg/test_calc.py", "pkg.test_calc.TestDiv.Inner", "test_z[1]"), "pkg/test_calc.py::TestDiv::Inner::test_z[1]"),
    (("pkg/test_calc.py", "", "pkg.test_calc"), "pkg/test_calc.py"),
    (("", "pkg.test_calc", "test_add"), "pkg.test_calc::test_add"),
    (("", "", "pkg"), "pkg"),
])
def test_junit_keys_read_as_pytest_node_ids_and_back(key, test_id):
    assert scoring.junit_test_id(key) == test_id
    if key[0] and key[1]:
        assert scoring._key_of(test_id) == key


def test_a_junit_report_reads_every_verdict_with_its_message(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text("""<?xml version="1.0"?><testsuites><testsuite>
<testcase file="t.py" classname="t" name="test_ok"/>
<testcase file="t.py" classname="t" name="test_bad"><failure
 message="assert 1 == 2">E   assert 1 == 2</failure></testcase>
<testcase file="t.py" classname="t" name="test_err"><error message="fixture broke"/></testcase>
<testcase file="t.py" classname="t" name="test_skip"><skipped message="no reason">skip text</skipped></testcase>
<testcase file="t.py" classname="t" name="test_out"><system-out>noise</system-out></testcase>
</testsuite></testsuites>""")
    cases = scoring.read_junit(junit)
    assert [(c.key[2], c.verdict, c.detail) for c in cases] == [
        ("test_ok", "passed", ""), ("test_bad", "failed", "assert 1 == 2\nE   assert 1 == 2"),
        ("test_err", "error", "fixture broke\n"), ("test_skip", "skipped", "no reason\nskip text"),
        ("test_out", "passed", "")]
    (tmp_path / "broken.xml").write_text("<testsuites><testcase")
    assert scoring.read_junit(tmp_path / "broken.xml") is None
    assert scoring.read_junit(tmp_path / "absent.xml") is None


# --- what runs, and what the agent may not ship -------------------------------------------------

def test_test_targets_are_the_test_modules_else_every_module_and_never_conftest():
    task = SimpleNamespace(test_ids=None, test_files=["tests/conftest.py", "tests/test_a.py", "tests/b_test.py",
                                                      "tests/helpers.py", "tests/data.json"])
    assert scoring._test_targets(task) == ["tests/test_a.py", "tests/b_test.py"]
    task = SimpleNamespace(test_ids=None, test_files=["tests/conftest.py", "tests/check.py", "tests/x.txt"])
    assert scoring._test_targets(task) == ["tests/check.py"]
    task = SimpleNamespace(test_ids=["a/test_x.py::t1", "b/test_y.py::C::t2", "a/test_x.py::t3"], test_files=[])
    assert scoring._test_targets(task) == ["a/test_x.py", "b/test_y.py"]


@pytest.mark.parametrize("rel, control", [
    ("conftest.py", True), ("sub/dir/pytest.ini", True), ("setup.cfg", True), ("pkg/sitecustomize.py", True),
    ("pytest/__init__.py", True), ("lib/_pytest/python.py", True), ("pytest.py", True),
    ("test_pytest.py", False), ("mypytest/x.py", False), ("src/app.py", False), ("pytest", False),
])
def test_pytest_control_paths(rel, control):
    assert scoring.PYTEST_CONTROL.matches(rel) is control


def test_control_files_the_agent_adds_are_removed_but_shipped_ones_kept(tmp_path):
    for rel in ("conftest.py", "sub/conftest.py", "sub/pytest.ini", "pytest/__init__.py", "keep/conftest.py",
                "ok/app.py", "shipped/_pytest/x.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    scoring._remove_control_files(tmp_path, keep={"keep/conftest.py", "shipped/_pytest/x.py"})
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["keep/conftest.py", "ok/app.py", "shipped/_pytest/x.py"]


def test_a_pristine_file_is_written_over_a_symlinked_folder_or_a_file_in_its_way(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "tests").symlink_to(outside)
    scoring._write_pristine(root, "tests/test_a.py", b"A")
    assert (root / "tests").is_dir() and not (root / "tests").is_symlink()
    assert (root / "tests" / "test_a.py").read_bytes() == b"A" and not list(outside.iterdir())
    (root / "deep").write_text("a file where a folder goes")
    scoring._write_pristine(root, "deep/test_b.py", b"B")
    assert (root / "deep" / "test_b.py").read_bytes() == b"B"
    (root / "tests" / "test_c.py").mkdir()
    scoring._write_pristine(root, "tests/test_c.py", b"C")
    assert (root / "tests" / "test_c.py").read_bytes() == b"C"


@pytest.mark.parametrize("detail, capped", [
    ("E   MemoryError", True), ("BlockingIOError: [Errno 11]", True), ("Resource temporarily unavailable", True),
    ("AssertionError", False), ("", False),
])
def test_what_counts_as_hitting_a_sandbox_cap(detail, capped):
    assert scoring._hit_a_cap(detail) is capped

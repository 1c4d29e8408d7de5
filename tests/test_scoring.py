"""Scoring: real pytest runs in the real sandbox against tiny tasks built in tmp_path."""
from __future__ import annotations

import dataclasses
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from core.arena_project import TEST_AGENTS_CONFTEST, make_config  # tests/ is on sys.path
from core.arena_project import make_task as make_arena_task
from test_sandbox import processes_with  # tests/ is on sys.path (no __init__.py)

from pytest_arena.errors import TaskError
from pytest_arena.sandbox import run as sandbox
from pytest_arena.sandbox.cgroup import pids_cgroup_parent
from pytest_arena.sandbox.run import Limits, base_python, sandbox_kind
from pytest_arena.scoring import env as scoring_env
from pytest_arena.scoring import score as scoring
from pytest_arena.scoring.env import ScoringEnvError
from pytest_arena.scoring.score import prepare_scoring_dir, score
from pytest_arena.tasks.folder import Task, load_task

STUB = textwrap.dedent("""
    def add(a, b):
        raise NotImplementedError

    def mul(a, b):
        raise NotImplementedError
""")
SOLUTION = textwrap.dedent("""
    def add(a, b):
        return a + b

    def mul(a, b):
        return a * b
""")
WRONG_MUL = SOLUTION.replace("return a * b", "return -1 if a == 2 else a * b")
ACCEPTANCE_TESTS = textwrap.dedent("""
    from calc import add, mul

    def test_add():
        assert add(2, 3) == 5

    class TestMul:
        def test_small(self):
            assert mul(2, 3) == 6

        def test_zero(self):
            assert mul(7, 0) == 0
""")
ALL_IDS = ["test_calc.py::test_add", "test_calc.py::TestMul::test_small",
           "test_calc.py::TestMul::test_zero"]


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def make_task(tmp_path: Path, tests: dict[str, str], *, workspace: dict[str, str] | None = None,
              reference: dict[str, str] | None = None, timeout_s: int = 60) -> Task:
    folder = tmp_path / "tasks" / "puzzles" / "calc"
    for part in ("workspace", "tests", "reference"):
        (folder / part).mkdir(parents=True)
    (folder / "task.yaml").write_text(textwrap.dedent(f"""
        id: puzzles/calc
        class: puzzles
        shape: puzzle
        title: add and multiply
        timeout_s: 600
        scoring_timeout_s: {timeout_s}
        tests_visible: true
        source: pytest-arena tests
        license: MIT
        stresses: nothing
        prompt: Implement add and mul in calc.py.
    """))
    write_tree(folder / "workspace", {"calc.py": STUB} if workspace is None else workspace)
    write_tree(folder / "tests", tests)
    write_tree(folder / "reference", {"calc.py": SOLUTION} if reference is None else reference)
    return load_task(folder)


def agent_workspace(tmp_path: Path, task: Task, changes: dict[str, str] | None = None) -> Path:
    """What an agent leaves behind: the public files (tests visible) plus its changes."""
    workspace = tmp_path / "agent"
    for part in ("workspace", "tests"):
        write_tree(workspace, {rel: c.decode() for rel, c in task.files(part).items()})
    write_tree(workspace, changes or {})
    return workspace


def bare_pytest_exit_code(workspace: Path) -> int:
    """How a naive scorer sees the workspace: plain ``python -m pytest`` run inside it."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=workspace, env=env, capture_output=True).returncode


@pytest.fixture
def calc(tmp_path) -> Task:
    return make_task(tmp_path, {"test_calc.py": ACCEPTANCE_TESTS})


def test_a_correct_solution_passes(tmp_path, calc):
    result = score(calc, agent_workspace(tmp_path, calc, {"calc.py": SOLUTION}), tmp_path / "s")
    assert result.status == "pass", result.reason
    assert (result.tests_passed, result.tests_total) == (3, 3)
    assert result.failures == []
    assert result.reason == "all 3 tests passed"
    assert result.sandbox == sandbox_kind()
    assert result.junit_path is not None and result.junit_path.is_file()
    assert tmp_path / "s" not in result.junit_path.parents  # outside what the code may write


def test_a_wrong_solution_fails_naming_the_failing_tests(tmp_path, calc):
    result = score(calc, agent_workspace(tmp_path, calc, {"calc.py": WRONG_MUL}), tmp_path / "s")
    assert result.status == "fail"
    assert (result.tests_passed, result.tests_total) == (2, 3)
    assert result.failures == ["test_calc.py::TestMul::test_small"]
    assert result.reason == "2/3 tests passed; test_calc.py::TestMul::test_small: assert -1 == 6"


def test_an_untouched_stub_fails_every_test(tmp_path, calc):
    result = score(calc, agent_workspace(tmp_path, calc), tmp_path / "s")
    assert (result.status, result.tests_passed, result.tests_total) == ("fail", 0, 3)
    assert result.failures == ALL_IDS
    assert "NotImplementedError" in result.reason


FLIP_TO_PASSED = textwrap.dedent("""
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(item, call):
        report = (yield).get_result()
        report.outcome, report.longrepr = "passed", None
""")
# Each cheat leaves the stub unsolved; a bare pytest run in the workspace is fooled by all but
# the deletion, score() by none.
CHEATS = {
    "tests rewritten to assert True": {
        "test_calc.py": "def test_add():\n    assert True\n\nclass TestMul:\n"
                        "    def test_small(self):\n        assert True\n\n"
                        "    def test_zero(self):\n        assert True\n",
    },
    "conftest flips failures to passes": {"conftest.py": FLIP_TO_PASSED},
    "pytest.py shadows pytest": {"pytest.py": "print('3 passed')\nraise SystemExit(0)\n"},
    "_pytest package shadows pytest internals": {"_pytest/__init__.py": "raise SystemExit(0)\n"},
    "pytest.ini loads a flipping plugin": {"pytest.ini": "[pytest]\naddopts = -p flipper\n",
                                           "flipper.py": FLIP_TO_PASSED},
    "pyproject.toml loads a flipping plugin": {
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-p flipper"\n',
        "flipper.py": FLIP_TO_PASSED,
    },
}


@pytest.mark.parametrize("cheat", CHEATS)
def test_a_cheating_workspace_scores_as_the_honest_result(tmp_path, calc, cheat):
    workspace = agent_workspace(tmp_path, calc, CHEATS[cheat])
    assert bare_pytest_exit_code(workspace) == 0, "the cheat should fool a naive scorer"
    result = score(calc, workspace, tmp_path / "s")
    assert (result.status, result.tests_passed, result.tests_total) == ("fail", 0, 3)
    assert result.failures == ALL_IDS


def test_deleted_tests_are_restored(tmp_path, calc):
    workspace = agent_workspace(tmp_path, calc)
    (workspace / "test_calc.py").unlink()
    result = score(calc, workspace, tmp_path / "s")
    assert (result.status, result.tests_total, result.failures) == ("fail", 3, ALL_IDS)


def test_a_test_file_replaced_by_a_symlink_is_restored_without_writing_through_it(tmp_path, calc):
    workspace = agent_workspace(tmp_path, calc)
    decoy = tmp_path / "decoy.py"
    decoy.write_text("def test_fine():\n    assert True\n")
    (workspace / "test_calc.py").unlink()
    (workspace / "test_calc.py").symlink_to(decoy)
    result = score(calc, workspace, tmp_path / "s")
    assert (result.status, result.failures) == ("fail", ALL_IDS)
    assert decoy.read_text() == "def test_fine():\n    assert True\n"


def test_pytest_files_the_task_ships_are_kept_and_restored(tmp_path):
    fixture_conftest = "import pytest\n\n@pytest.fixture\ndef expected():\n    return 5\n"
    task = make_task(tmp_path, {
        "conftest.py": fixture_conftest,
        "test_calc.py": "from calc import add\n\ndef test_add(expected):\n"
                        "    assert add(2, 3) == expected\n",
    })
    honest = score(task, agent_workspace(tmp_path, task, {"calc.py": SOLUTION}), tmp_path / "a")
    assert honest.status == "pass", honest.reason
    cheat_dir = tmp_path / "cheat"
    cheat_dir.mkdir()
    cheater = agent_workspace(cheat_dir, task, {"conftest.py": fixture_conftest + FLIP_TO_PASSED})
    assert score(task, cheater, tmp_path / "b").failures == ["test_calc.py::test_add"]


def test_prepare_scoring_dir_copies_the_solution_and_drops_agent_debris(tmp_path, calc):
    workspace = agent_workspace(tmp_path, calc, {
        "calc.py": SOLUTION, "notes/plan.md": "keep me", "sitecustomize.py": "import os\n",
        "notes/conftest.py": FLIP_TO_PASSED, "pytest/__init__.py": "",
        "test_calc.py": "def test_add():\n    assert True\n",
        "__pycache__/test_calc.cpython-311-pytest-9.0.2.pyc": "stale",
    })
    prepare_scoring_dir(calc, workspace, tmp_path / "s")
    scored = {p.relative_to(tmp_path / "s").as_posix() for p in (tmp_path / "s").rglob("*")
              if p.is_file()}
    assert scored == {"calc.py", "notes/plan.md", "test_calc.py"}
    assert (tmp_path / "s" / "test_calc.py").read_text() == ACCEPTANCE_TESTS
    with pytest.raises(ValueError, match="not empty"):
        prepare_scoring_dir(calc, workspace, tmp_path / "s")


def test_a_fifo_left_in_the_workspace_does_not_hang_scoring(tmp_path, calc):
    workspace = agent_workspace(tmp_path, calc, {"calc.py": SOLUTION})
    os.mkfifo(workspace / "pipe")
    result = score(calc, workspace, tmp_path / "s")
    assert result.status == "pass", result.reason
    assert not (tmp_path / "s" / "pipe").exists()


def test_a_missing_solution_module_is_a_collection_error(tmp_path, calc):
    workspace = agent_workspace(tmp_path, calc)
    (workspace / "calc.py").unlink()
    result = score(calc, workspace, tmp_path / "s")
    assert result.status == "fail"
    assert result.reason == ("0/1 tests passed; test_calc.py: collection error: "
                             "ModuleNotFoundError: No module named 'calc'")


def test_a_skipped_test_is_not_a_pass(tmp_path):
    task = make_task(tmp_path, {"test_calc.py": ACCEPTANCE_TESTS + textwrap.dedent("""
        import pytest

        def test_later():
            pytest.skip("not today")
    """)})
    result = score(task, agent_workspace(tmp_path, task, {"calc.py": SOLUTION}), tmp_path / "s")
    assert (result.status, result.tests_passed, result.tests_total) == ("fail", 3, 4)
    assert result.failures == ["test_calc.py::test_later"]
    assert "a skip is not a pass" in result.reason


def test_a_sandbox_that_cannot_start_is_an_infra_error(tmp_path, calc, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bwrap").write_text("#!/bin/sh\necho 'bwrap: setting up uid map: denied' >&2\n"
                                   "exit 1\n")
    (bin_dir / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(sandbox, "sandbox_kind", lambda: "bwrap")  # as if it had worked before
    result = score(calc, agent_workspace(tmp_path, calc, {"calc.py": SOLUTION}), tmp_path / "s")
    assert result.status == "infra_error"
    assert "setting up uid map: denied" in result.reason


# --- hostile acceptance tests: each contained, each a fail with a reason -----------------------

def hostile_task(tmp_path: Path, body: str) -> Task:
    return make_task(tmp_path, {"test_hostile.py": textwrap.dedent(body)},
                     workspace={}, reference={"placeholder.py": "X = 1\n"})


def left_running(scoring_dir: Path) -> list[int]:
    """Processes still running from a scoring dir (their command line names it)."""
    return processes_with(f"--rootdir={scoring_dir}")


def test_a_memory_hog_is_capped(tmp_path):
    task = hostile_task(tmp_path, """
        def test_hog():
            chunks = []
            while len(chunks) < 80:  # 4 GB
                chunks.append(bytearray(50 * 2**20))
    """)
    result = score(task, tmp_path / "tasks/puzzles/calc/workspace", tmp_path / "s",
                   limits=Limits(wall_s=60, memory_mb=256))
    assert result.status == "fail"
    assert "memory limit 256 MB exceeded" in result.reason


def test_a_fork_bomb_is_capped(tmp_path):
    if os.geteuid() == 0 and pids_cgroup_parent() is None:
        pytest.skip("root without a writable pids cgroup: the kernel ignores RLIMIT_NPROC")
    task = hostile_task(tmp_path, """
        import os, time

        def test_fork_bomb():
            for _ in range(2000):
                if os.fork() == 0:
                    time.sleep(120)
                    os._exit(0)
    """)
    scoring_dir = tmp_path / "s"
    result = score(task, tmp_path / "tasks/puzzles/calc/workspace", scoring_dir,
                   limits=Limits(wall_s=60, max_procs=64))
    assert result.status == "fail"
    assert result.failures == ["test_hostile.py::test_fork_bomb"]
    assert "process limit 64 reached" in result.reason
    assert left_running(scoring_dir) == []


def test_an_infinite_loop_is_stopped_at_the_wall_time(tmp_path):
    task = hostile_task(tmp_path, """
        def test_forever():
            while True:
                pass
    """)
    scoring_dir = tmp_path / "s"
    result = score(task, tmp_path / "tasks/puzzles/calc/workspace", scoring_dir,
                   limits=Limits(wall_s=2))
    assert (result.status, result.reason) == ("fail", "wall time 2 s exceeded")
    assert left_running(scoring_dir) == []


@pytest.mark.skipif(sandbox_kind() == "subprocess", reason="no network isolation available")
@pytest.mark.parametrize("target", ["listening port on this host", "DNS name"])
def test_a_network_call_is_blocked(tmp_path, target):
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        address = (("127.0.0.1", server.getsockname()[1]) if target.startswith("listening")
                   else ("pypi.org", 443))
        task = hostile_task(tmp_path, f"""
            import socket

            def test_call_home():
                socket.create_connection({address!r}, timeout=5).close()
        """)
        result = score(task, tmp_path / "tasks/puzzles/calc/workspace", tmp_path / "s")
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing reached the host
    assert result.status == "fail"
    assert result.failures == ["test_hostile.py::test_call_home"]
    assert "network call failed: the sandbox has no network" in result.reason


# --- a tampered interpreter or a tampered pytest process -----------------------------------------

def junit_names(result) -> list[str]:
    return [case.get("name") for case in ET.parse(result.junit_path).getroot().iter("testcase")]


def test_a_genuine_pass_still_passes_beside_the_planted_tests(tmp_path, calc):
    workspace = agent_workspace(tmp_path, calc, {"calc.py": SOLUTION})
    first, second = (score(calc, workspace, tmp_path / name) for name in ("a", "b"))
    for result in (first, second):
        assert (result.status, result.tests_passed, result.tests_total) == ("pass", 3, 3), result.reason
        assert result.tampering is None
        assert len(junit_names(result)) == 5  # the three tests and the two planted ones
    planted = [set(junit_names(r)) - {"test_add", "test_small", "test_zero"} for r in (first, second)]
    assert planted[0].isdisjoint(planted[1]), "planted tests get fresh random names each run"


PLANTED_PLUGIN = FLIP_TO_PASSED
# A .pth in the interpreter's site-packages runs at every start of that interpreter (with site).
PLANTED_PTH = "import os; os.environ['PYTEST_PLUGINS'] = 'arena_flip'\n"


def test_a_pth_planted_in_the_interpreters_site_packages_is_never_run(tmp_path, calc):
    venv = tmp_path / "venv"
    subprocess.run([base_python(), "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    (site_packages / "arena_flip.py").write_text(PLANTED_PLUGIN)
    (site_packages / "zz-arena.pth").write_text(PLANTED_PTH)
    env = dataclasses.replace(scoring_env.prepare(), python=str(venv / "bin" / "python"),
                              python_roots=(venv,))
    workspace = agent_workspace(tmp_path, calc)
    naive = subprocess.run([env.python, "-I", "-c", f"import sys; sys.path.append({str(env.path)!r}); "
                            "import pytest; raise SystemExit(pytest.main(['-q', '-p', 'no:cacheprovider']))"],
                           cwd=workspace, capture_output=True,
                           env={"PATH": os.environ["PATH"], "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert naive.returncode == 0, "the planted plugin should fool this interpreter with site"
    result = score(calc, workspace, tmp_path / "s", env=env)
    assert (result.status, result.tests_passed, result.tests_total) == ("fail", 0, 3)
    assert result.failures == ALL_IDS
    assert result.tampering is None  # not caught after the fact: never loaded


def test_the_tests_run_isolated_with_pytest_from_the_clean_env_only(tmp_path, monkeypatch):
    env = scoring_env.prepare()
    monkeypatch.setenv("PYTEST_PLUGINS", "arena_flip")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p arena_flip")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    task = hostile_task(tmp_path, f"""
        import os
        import sys

        import pytest

        ENV = {str(env.path)!r}

        def test_the_interpreter_is_isolated():
            assert sys.flags.isolated and sys.flags.no_site
            assert [p for p in sys.path if "site-packages" in p or "dist-packages" in p] == []
            assert pytest.__file__.startswith(ENV + "/")

        def test_no_plugin_but_pytest_s_own(request):
            assert not {{"PYTEST_PLUGINS", "PYTEST_ADDOPTS", "PYTHONPATH"}} & set(os.environ)
            assert os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] == "1"
            for name, plugin in request.config.pluginmanager.list_name_plugin():
                where = getattr(plugin, "__file__", None)  # None: an object, not a module
                assert where is None or where.startswith(ENV + "/"), name
    """)
    result = score(task, tmp_path / "tasks/puzzles/calc/workspace", tmp_path / "s", env=env)
    assert (result.status, result.tests_passed) == ("pass", 2), result.reason


PATCH_TEST_REPORTS = textwrap.dedent("""
    import _pytest.reports

    _init = _pytest.reports.TestReport.__init__

    def _passed(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self.outcome, self.longrepr = "passed", None

    _pytest.reports.TestReport.__init__ = _passed
""")
PATCH_JUNIT_WRITER = textwrap.dedent("""
    import _pytest.junitxml

    _pytest.junitxml._NodeReporter.append_failure = lambda self, report: None
""")
# Knows the one test its bug fails, and leaves that test out of the report.
DROP_FROM_JUNIT = textwrap.dedent("""
    import xml.etree.ElementTree as ET

    import _pytest.junitxml

    _to_xml = _pytest.junitxml._NodeReporter.to_xml

    def _without_test_small(self):
        return ET.Element("gone") if self.attrs.get("name") == "test_small" else _to_xml(self)

    _pytest.junitxml._NodeReporter.to_xml = _without_test_small
""")


@pytest.mark.parametrize("patch", [PATCH_TEST_REPORTS, PATCH_JUNIT_WRITER],
                         ids=["TestReport claims passes", "JUnit writer drops failures"])
def test_a_solution_that_patches_pytest_on_import_is_caught(tmp_path, calc, patch):
    result = score(calc, agent_workspace(tmp_path, calc, {"calc.py": STUB + patch}), tmp_path / "s")
    report = ET.parse(result.junit_path).getroot()
    assert [len(case) for case in report.iter("testcase")] == [0] * 5, "the report claims passes"
    assert (result.status, result.tests_passed, result.tests_total) == ("fail", 0, 3)
    assert result.tampering == "the JUnit report claims that a planted test which must fail passed"
    assert result.reason.startswith("tampering detected: ")
    assert result.failures == sorted(ALL_IDS)


WRONG_ADDER = "def add(a, b):\n    return a - b\n\n\ndef total(values):\n    return 0\n"
PATCHING_AGENT = f"""
class Patcher(_Builtin):
    name = "patcher"

    def run(self, ctx):
        (ctx.workspace / "adder.py").write_text({WRONG_ADDER + PATCH_TEST_REPORTS!r})
        return AgentResult(exit_code=0, duration_s=0.0)


register_agent("patcher", Patcher)
"""


def test_a_cell_whose_solution_patches_pytest_fails_and_its_row_records_the_tampering(pytester):
    make_arena_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST + PATCHING_AGENT)
    make_config(pytester.path, agents=("patcher", "oracle"))
    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*demo/adder?patcher-s42?*",
                                 "FAIL: 0/3 tests passed: tampering detected: *"])
    rows = {row["route"]: row for row in map(json.loads, (pytester.path / "results/demo/raw.jsonl")
                                             .read_text().splitlines())}
    assert rows["patcher"]["outcome"] == "fail"
    assert rows["patcher"]["quality"]["tests_passed"] == 0
    assert rows["patcher"]["scoring"]["tampering_detected"] is True
    assert "planted test which must fail passed" in rows["patcher"]["scoring"]["tampering"]
    assert rows["oracle"]["scoring"]["tampering_detected"] is False
    assert rows["oracle"]["scoring"]["env"] == rows["patcher"]["scoring"]["env"]


def test_a_report_that_leaves_out_a_failing_test_does_not_match_the_pristine_collection(tmp_path, calc):
    workspace = agent_workspace(tmp_path, calc, {"calc.py": WRONG_MUL + DROP_FROM_JUNIT})
    result = score(calc, workspace, tmp_path / "s")
    assert (result.status, result.tests_passed, result.tests_total) == ("fail", 0, 3)
    assert result.tampering == ("the JUnit report does not match the pristine collection of 3 tests "
                                "(missing test_calc.py::TestMul::test_small)")
    assert result.reason == f"tampering detected: {result.tampering}; no test counts as passed"


def test_the_pristine_collection_is_made_once_per_task_against_the_reference(tmp_path, calc, monkeypatch):
    monkeypatch.setattr(scoring, "_PRISTINE", {})
    collected = []
    real = scoring._collect_pristine
    monkeypatch.setattr(scoring, "_collect_pristine", lambda *args: collected.append(1) or real(*args))
    workspace = agent_workspace(tmp_path, calc, {"calc.py": SOLUTION})
    assert [score(calc, workspace, tmp_path / n).status for n in ("a", "b")] == ["pass", "pass"]
    assert len(collected) == 1
    broken = make_task(tmp_path / "broken", {"test_calc.py": ACCEPTANCE_TESTS},
                       reference={"calc.py": "raise ImportError('the reference is broken')\n"})
    with pytest.raises(TaskError, match="puzzles/calc.*against the reference solution failed"):
        score(broken, agent_workspace(tmp_path / "broken", broken, {"calc.py": SOLUTION}), tmp_path / "c")


def test_the_clean_env_is_built_once_read_only_and_rebuilt_when_changed(tmp_path, monkeypatch):
    root = tmp_path / "envs"
    env = scoring_env.prepare(root)
    assert env.path.parent == root and env.key == env.path.name
    top = {p.name for p in env.path.iterdir()}
    assert {"pytest", "_pytest", "pluggy", "iniconfig", "packaging"} <= top
    assert not {name for name in top if name.endswith(".pth")} | ({"xdist", "pytest_arena"} & top)
    modes = [p.lstat().st_mode for p in [env.path, *env.path.rglob("*")]]
    assert all(stat.S_IMODE(mode) & 0o222 == 0 for mode in modes)
    scoring_env.prepare.cache_clear()
    built = []
    real_build = scoring_env._build
    monkeypatch.setattr(scoring_env, "_build", lambda *args: built.append(1) or real_build(*args))
    assert scoring_env.prepare(root) == env and built == []  # reused
    (env.path / "_pytest").chmod(0o755)
    (env.path / "_pytest" / "zz.pth").write_text("import os\n")
    scoring_env.prepare.cache_clear()
    assert scoring_env.prepare(root) == env and built == [1]  # checked, and rebuilt
    assert not (env.path / "_pytest" / "zz.pth").exists()
    assert sorted(p.name for p in root.iterdir()) == [env.key]  # no staging folder left behind
    scoring_env.prepare.cache_clear()


def test_an_installed_pytest_file_changed_after_installation_is_refused(tmp_path):
    site = tmp_path / "site-packages"
    (site / "pytest").mkdir(parents=True)
    (site / "pytest" / "__init__.py").write_text("def main(): return 0\n")
    info = site / "pytest-99.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pytest\nVersion: 99.0\n")
    (info / "RECORD").write_text("pytest/__init__.py,sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,22\n"
                                 "pytest-99.0.dist-info/METADATA,,\npytest-99.0.dist-info/RECORD,,\n")
    with pytest.raises(ScoringEnvError, match=r"pytest/__init__.py differs from its installation record"):
        scoring_env.prepare(tmp_path / "envs", (str(site),))
    assert not (tmp_path / "envs").exists()

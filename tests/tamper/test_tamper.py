"""The tamper suite: probe agents (tests/tamper/probes/) attack the harness through the real
plugin, each from inside its cell's agent sandbox, as a real agent would. Each must gain nothing:
its cell fails, and what it reached is empty. The results folder lives outside /tmp here, so the
walls are tested where a user keeps them (not hidden by the sandbox's private /tmp alone).

Every test runs once per sandbox kind registered here that walls off an agent (bubblewrap on
Linux, the container kind where its image is built, Seatbelt on a Mac), agents and acceptance
tests both in it; a kind that does not work here is skipped, with its reason. The control runs
the same probes with the agent sandbox off and sees them reach their targets."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pytest_arena.sandbox.kinds import availability, sandbox_kinds
from tests.core.arena_project import make_config, make_task

# The probe agents and their attacks are data: written into each throwaway project, never imported here.
PROBES = Path(__file__).resolve().parent / "probes"


def walled_agent_kinds() -> list:
    """The kinds the suite runs on: every agent kind here that walls off files and network."""
    params = []
    for kind in sandbox_kinds("agents"):
        if kind.guarantees.isolates:
            found = availability(kind.name)
            params.append(pytest.param(kind.name, id=kind.name, marks=() if found else pytest.mark.skip(
                reason=f"{kind.title} {found.reason}")))
    return params

KEYS = {"OPENAI_API_KEY": "sk-probe-openai-5c1e7a", "ANTHROPIC_API_KEY": "sk-ant-probe-9d2f4b"}
VICTIM = "a host file no cell may write\n"
SECRET = "a host secret no cell may read: 7e1f0c\n"


@pytest.fixture(params=walled_agent_kinds())
def arena(pytester: pytest.Pytester, request: pytest.FixtureRequest):
    """A project with the adder task, the probes, a results folder outside /tmp, the user's keys
    in the environment pytest starts with, and a port listening on the host; its cells run in the
    kind ``request.param`` (agents and, where it serves them, acceptance tests)."""
    kind = request.param
    scoring = kind if kind in {k.name for k in sandbox_kinds("scoring")} else "auto"
    task = make_task(pytester.path)
    pytester.makeconftest((PROBES / "probe_agents.py").read_text())
    shutil.copytree(PROBES / "attacks", pytester.path / "attacks")
    out_dir = Path(tempfile.mkdtemp(prefix="arena-tamper-", dir="/var/tmp"))
    # Host files outside every sandbox: one the harness must never write through, one it must never read.
    host = Path(tempfile.mkdtemp(prefix="arena-tamper-host-", dir="/var/tmp"))
    (host / "victim.txt").write_text(VICTIM)
    (host / "secret.txt").write_text(SECRET)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    hints = {"project": str(pytester.path), "out_dir": str(out_dir),
             "keys_reversed": [key[::-1] for key in KEYS.values()],
             "module": "adder", "reference": str(task / "reference" / "adder.py"),
             "host_port": listener.getsockname()[1], "victim": str(host / "victim.txt"),
             "secret": str(host / "secret.txt")}

    def run(*agents: str, unsandboxed: bool = False, args: tuple[str, ...] = ()):
        sandbox = "{agents: none}" if unsandboxed else f"{{agents: {kind}, scoring: {scoring}}}"
        make_config(pytester.path, agents=("oracle", *agents), out_dir=str(out_dir), extra=f"sandbox: {sandbox}\n")
        env = {**KEYS, "ARENA_PROBE_HINTS": json.dumps(hints)}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # the environment the pytest subprocess starts with
        try:
            result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-k", "adder",
                                                   "-p", "no:cacheprovider",
                                                   *args, timeout=600)  # a harness that waits on a FIFO fails here
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        rows = [json.loads(line) for line in (out_dir / "raw.jsonl").read_text().splitlines() if line.strip()]
        ran_in = {r["sandbox"]["agent"] for r in rows if r["sandbox"]["agent"] != "not started"}
        assert ran_in <= {"none" if unsandboxed else kind}, ran_in  # the cells ran in the kind under test
        return result, {r["route"]: r for r in rows}

    yield run, out_dir, pytester.path, listener
    listener.close()
    assert (host / "victim.txt").read_text() == VICTIM, "the harness wrote through a link the agent planted"
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(host, ignore_errors=True)


def found(out_dir: Path, row: dict) -> dict:
    return json.loads((out_dir / row["output_ref"] / "logs" / "probe.json").read_text())


def assert_gained_nothing(row: dict) -> None:
    assert row["outcome"] == "fail", row["error"]
    assert row["quality"]["functional_pass"] is False
    # agent and tests ran in kinds whose files and network walls held (the self-check cleared them)
    held = row["sandbox_guarantees"]
    assert [held[role]["kind"] for role in ("agent", "scoring")] == [row["sandbox"]["agent"], row["sandbox"]["scoring"]]
    assert all(held[role][wall] == "hard" for role in ("agent", "scoring") for wall in ("files", "network"))


def test_reference_solutions_are_out_of_reach(arena):
    run, out_dir, *_ = arena
    _, rows = run("probe-reference", "probe-symlink")
    assert found(out_dir, rows["probe-reference"])["reference_files"] == []
    assert_gained_nothing(rows["probe-reference"])
    assert found(out_dir, rows["probe-symlink"])["symlinked_to"].endswith("reference/adder.py")
    assert_gained_nothing(rows["probe-symlink"])  # scoring does not follow it to the host either


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_links_left_in_the_workspace_are_recorded_never_made_on_the_controller(arena, workers):
    """``python -m venv`` in a workspace leaves a symlink to the host's interpreter; once, the
    controller's unpacking of such a cell folder raised inside pytest's report hook and ended the
    session (INTERNALERROR), losing the rows of the cells after it, and again on every resume."""
    run, out_dir, *_ = arena
    result, rows = run("probe-venv", "probe-symlink", args=workers)
    assert set(rows) == {"oracle", "probe-venv", "probe-symlink"}, result.stdout.str()[-3000:]
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "pytest-arena summary" in result.stdout.str()
    assert rows["oracle"]["outcome"] == "pass"
    venv = rows["probe-venv"]
    assert {".venv/bin/python", "passwd-link", "reference-link"} <= {
        line.split("workspace/", 1)[1].split(":")[0] for line in venv["artifacts"]["not_extracted"]}
    assert any(line.startswith("workspace/passwd-link: symlink -> /etc/passwd")
               for line in venv["artifacts"]["not_extracted"])
    cells = out_dir / "cells"
    assert not [p for p in cells.rglob("*") if p.is_symlink()]  # no link was made on the controller
    assert ("workspace/passwd-link: symlink -> /etc/passwd"
            in (out_dir / venv["output_ref"] / "not-extracted.txt").read_text())
    assert_gained_nothing(rows["probe-symlink"])
    # A resume of the same results folder completes and re-runs nothing.
    again, rows_again = run("probe-venv", "probe-symlink", args=("--arena-resume", *workers))
    assert "INTERNALERROR" not in again.stdout.str() + again.stderr.str()
    assert set(rows_again) == set(rows)


def test_other_cells_and_the_ledger_are_out_of_reach(arena):
    run, out_dir, *_ = arena
    _, rows = run("probe-other-cells")  # the oracle cell runs first and leaves a passing workspace
    assert rows["oracle"]["outcome"] == "pass"
    assert list((out_dir / "cells").glob("*oracle*/workspace/adder.py"))  # it is there, on the host
    got = found(out_dir, rows["probe-other-cells"])
    assert got == {"other_workspaces": [], "ledger_files": []}
    assert_gained_nothing(rows["probe-other-cells"])


def test_the_users_keys_are_out_of_reach_and_in_no_file(arena):
    run, out_dir, project, _ = arena
    result, rows = run("probe-keys")
    assert found(out_dir, rows["probe-keys"])["key_leaks"] == []
    output = result.stdout.str() + result.stderr.str()
    assert not any(key in output for key in KEYS.values())  # nor in what pytest printed
    for path in [*out_dir.rglob("*"), *project.rglob("*")]:
        if path.is_file() and path.stat().st_size < 5_000_000:
            data = path.read_bytes()
            assert not any(key.encode() in data for key in KEYS.values()), path


def test_a_planted_pth_cannot_flip_scoring(arena):
    run, out_dir, *_ = arena
    _, rows = run("probe-pth")
    assert found(out_dir, rows["probe-pth"])["pth_written"] == []
    assert_gained_nothing(rows["probe-pth"])


def test_a_solution_that_rewrites_pytest_reports_is_caught(arena):
    run, out_dir, *_ = arena
    _, rows = run("probe-report-rewrite")
    assert found(out_dir, rows["probe-report-rewrite"]) == {"planted": True}
    assert_gained_nothing(rows["probe-report-rewrite"])


def test_the_test_command_on_the_agents_path_runs_and_cannot_be_turned(arena):
    """An agent runs its tests with the ``pytest`` the cell puts first on its PATH; it can neither
    replace that launcher nor write into the clean pytest copy it runs (scoring's own)."""
    run, out_dir, *_ = arena
    _, rows = run("probe-tools")
    got = found(out_dir, rows["probe-tools"])
    assert got["launcher"] and got["copies"], got  # the command was there, and the copy it runs
    assert got["changed"] == []
    assert got["ran"] == 1 and "failed" in got["ran_said"][0], got  # the stub's tests, really run
    assert_gained_nothing(rows["probe-tools"])


def test_no_network_but_the_router(arena):
    run, out_dir, _, listener = arena
    _, rows = run("probe-network")
    assert found(out_dir, rows["probe-network"])["reached"] == []
    with pytest.raises(BlockingIOError):
        listener.accept()  # the host port saw no connection


def test_nothing_outside_the_workspace_is_written_and_pytest_is_out_of_reach(arena):
    run, out_dir, project, _ = arena
    result, rows = run("probe-write-outside", "probe-processes")
    # The project lives under /tmp here (pytester's folder), and the sandbox's /tmp is a private
    # tmpfs: writes the probe believes it made there land in that tmpfs and vanish with it. Any
    # other write it believes it made is a hole; and on the host, nothing may have landed anywhere.
    believed = found(out_dir, rows["probe-write-outside"])["written"]
    assert all(Path(folder).is_relative_to("/tmp") for folder in believed), believed
    assert not list(Path.home().glob("arena-probe-was-here"))
    assert not list(project.rglob("arena-probe-was-here")) and not list(out_dir.rglob("arena-probe-was-here"))
    assert found(out_dir, rows["probe-processes"])["hit"] == []
    assert "pytest-arena summary" in result.stdout.str()  # the session ran to its end


def test_nothing_the_agent_started_outlives_it(arena):
    """A detached daemon (new session) the probe leaves behind would write a passing solution into
    the workspace while the cell is scored. Run by hand outside the harness it does (checked when
    the probe was written); in the cell, the kind's wall time ends it with the agent (bubblewrap's
    pid namespace, a container's end, Seatbelt's watchdog)."""
    run, out_dir, *_ = arena
    _, rows = run("probe-lingering")
    tag = found(out_dir, rows["probe-lingering"])["daemon"]
    time.sleep(1.5)  # a surviving daemon writes from 1 s after its start, every 0.1 s
    alive = [p for p in Path("/proc").glob("[0-9]*/cmdline") if tag.encode() in _read(p)]
    assert alive == [], "a process the agent started is still running"
    workspace = out_dir / rows["probe-lingering"]["output_ref"] / "workspace"
    assert (workspace / "adder.py").is_file() and not (workspace / "late-write").exists()
    assert_gained_nothing(rows["probe-lingering"])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize("arena", ["none"], indirect=True)  # the control runs once, with no agent sandbox
def test_control_without_the_agent_sandbox_the_probes_do_reach_their_targets(arena):
    """The probes are real: with the agent sandbox off (``sandbox.agents: none``), the same probes
    find the reference, the other cell's workspace, the keys in pytest's environment and the
    host's port. (The probes that write outside or signal pytest are not run unsandboxed.)"""
    run, out_dir, *_ = arena
    result, rows = run("probe-reference", "probe-other-cells", "probe-keys", "probe-network", "probe-report-rewrite",
                       unsandboxed=True)
    assert found(out_dir, rows["probe-reference"])["reference_files"]
    assert rows["probe-reference"]["outcome"] == "pass"  # it copied the reference: the attack works
    assert found(out_dir, rows["probe-other-cells"])["other_workspaces"]
    assert any("/environ" in leak for leak in found(out_dir, rows["probe-keys"])["key_leaks"])
    assert found(out_dir, rows["probe-network"])["reached"]
    assert "ran their agent WITHOUT a sandbox" in result.stdout.str()
    # The report-rewriting solution fools a plain pytest run of the same tests: only the
    # harness's cross-checks catch it.
    workspace = out_dir / rows["probe-report-rewrite"]["output_ref"] / "workspace"
    assert (workspace / "test_adder.py").is_file()  # the visible tests, where the agent saw them
    plain = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_adder.py"],
                           cwd=workspace, capture_output=True, text=True,
                           env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert plain.returncode == 0 and "3 passed" in plain.stdout, plain.stdout + plain.stderr


# ---- What the agent leaves behind, handled by the harness outside the sandbox (issue 21) ----


def _all_output(result) -> str:
    return result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_leftovers_that_are_not_files_never_cost_a_correct_solution(arena, workers):
    """A correct solution beside a FIFO, a Unix socket, a name that is not UTF-8, a name whose
    line break would forge a hunk, a link to a host file and a hard link: once, the FIFO or the
    socket crashed the copy in the cell's ``finally`` and the cell got no row at all."""
    run, out_dir, *_ = arena
    result, rows = run("probe-specials", args=workers)
    assert set(rows) == {"oracle", "probe-specials"}, _all_output(result)[-3000:]
    row = rows["probe-specials"]
    assert row["outcome"] == "pass", row["error"]
    cell = out_dir / row["output_ref"]
    not_copied = (cell / "not-copied.txt").read_text()
    assert "a-fifo: fifo, not read" in not_copied and "a-socket: socket, not read" in not_copied
    assert not (cell / "workspace" / "a-fifo").exists() and not (cell / "workspace" / "a-socket").exists()
    assert any("a-fifo" in note for note in row["leftovers"]["notes"])
    patch = (cell / "patch.diff").read_text()
    assert 'diff --git "a/x\\n@@ -0,0 +1 @@\\n+forged hunk" "b/x\\n@@ -0,0 +1 @@\\n+forged hunk"' in patch
    assert "\n+forged hunk" not in patch  # no line of the patch is the forged one
    assert '"b/not-utf8-\\377\\376.txt"' in patch
    assert (out_dir / "report.html").is_file()  # the pages were written, odd names and all
    assert "INTERNALERROR" not in _all_output(result)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_a_workspace_over_a_limit_fails_its_cell_and_keeps_every_row(arena, workers):
    """A 1,500-deep folder (once a RecursionError and no row) and 30,000 files (over
    limits.workspace_files): each cell fails for it, unscored; every cell keeps its row; no file
    can grow past limits.file_mb inside the sandbox."""
    run, out_dir, *_ = arena
    result, rows = run("probe-deep", "probe-many", args=workers)
    assert set(rows) == {"oracle", "probe-deep", "probe-many"}, _all_output(result)[-3000:]
    assert rows["oracle"]["outcome"] == "pass"
    deep, many = rows["probe-deep"], rows["probe-many"]
    assert found(out_dir, deep)["depth"] == 1500
    assert deep["outcome"] == "fail" and "folders deeper than 64" in deep["error"]
    assert deep["leftovers"]["over_limit"].startswith("folders deeper than 64")
    assert many["outcome"] == "fail" and "more than 20000 files and folders" in many["error"], many["error"]
    assert found(out_dir, many)["huge"] == "refused: File too large"  # RLIMIT_FSIZE in the agent's sandbox
    assert deep["scoring"] is None or deep["quality"]["tests_total"] == 0  # not scored


def test_planted_logs_are_never_followed_nor_waited_on_and_no_escape_reaches_the_terminal(arena):
    """The agent's stdout log replaced by a FIFO and its stderr log by a link to a host secret;
    the next step's logs planted as a link to a host file and as a FIFO; a crash reason full of
    terminal control sequences; a solution that turns the JUnit report into a FIFO at exit."""
    run, out_dir, project, _ = arena
    result, rows = run("probe-logs", "probe-terminal", "probe-junit-fifo")
    output = _all_output(result)
    assert set(rows) == {"oracle", "probe-logs", "probe-terminal", "probe-junit-fifo"}, output[-3000:]
    assert found(out_dir, rows["probe-logs"]) == {"planted": True}
    assert SECRET.strip() not in output
    for path in out_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.strip().encode() not in path.read_bytes(), path
    logs = out_dir / rows["probe-logs"]["output_ref"] / "logs"
    assert (logs / "after.stdout.log").read_text() == "second step\n"  # made fresh: the victim untouched (fixture)
    terminal = rows["probe-terminal"]
    assert terminal["outcome"] == "agent_crash"
    assert "\\x1b]52;c;" in terminal["error"] and "\x1b" not in terminal["error"]
    assert "\x1b]" not in output and "\x07" not in output  # no title, no clipboard write, no bell
    junit = rows["probe-junit-fifo"]
    assert junit["outcome"] == "fail", junit["error"]
    assert "JUnit" in junit["error"]

"""Live progress, status.json and `python -m pytest_arena status`, Ctrl-C as a pause: real pytest
runs (subprocesses, so stdout is a pipe or a terminal as for a user) of small arena projects whose
agent calls the scripted cloud through the real router."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .arena_project import TEST_AGENTS_CONFTEST, make_config, two_task_project

TALKER = '''

class Talker(_Builtin):
    """Asks its model TALKER_CALLS times through the router, TALKER_PAUSE seconds apart, then
    writes the reference: a cell with calls, tokens and cost while it runs."""
    name = "talker"
    uses_llm = True

    def run(self, ctx):
        import json
        import urllib.request

        for _ in range(int(os.environ.get("TALKER_CALLS", "2"))):
            body = {"model": ctx.endpoints.model, "messages": [{"role": "user", "content": ctx.prompt}]}
            request = urllib.request.Request(
                ctx.endpoints.openai_base + "/chat/completions", data=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {ctx.endpoints.api_key}", "Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=30).read()
            time.sleep(float(os.environ.get("TALKER_PAUSE", "1")))
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        return AgentResult(exit_code=0, duration_s=0.0)


register_agent(Talker.name, Talker)
'''
OUT = "results/demo"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    return two_task_project(pytester, TEST_AGENTS_CONFTEST + TALKER)


def _pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--arena-config", "arena.yaml", *args]


def _status(root: Path, out: str = OUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest_arena", "status", out], cwd=root,
                          capture_output=True, text=True, timeout=60)


def _wait_for(predicate, what: str, timeout_s: float = 90):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _status_json(root: Path) -> dict:
    try:
        return json.loads((root / OUT / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def _rows(root: Path) -> list[dict]:
    path = root / OUT / "raw.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def _cost(line: str) -> float:
    return float(re.search(r"\$(\d+\.\d+)", line).group(1))


def test_plain_lines_on_a_pipe_name_each_cell_and_its_cost_so_far(project, monkeypatch):
    monkeypatch.setenv("TALKER_CALLS", "3")
    monkeypatch.setenv("TALKER_PAUSE", "0.6")
    make_config(project.path, agents=("talker",), strategies=("always-cloud",))
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-k", "adder",
                                          "--arena-progress-interval", "0.5")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "\x1b[" not in out, "a pipe gets no cursor movement"
    result.stdout.fnmatch_lines([
        "arena: started demo/adder · talker · always-cloud · s42 [[]main[]]",
        "arena: 0 done · 1 left · 1 running · $0.0* so far · *",
        "  demo/adder · talker · always-cloud · s42 · * s · calls 0 local / [123] cloud · * tokens · $0.0* [[]main[]]",
        "arena: finished demo/adder · talker · always-cloud · s42: pass in * s, $0.0* · 1 done (pass 1) · 0 left "
        "· $0.0* so far",
    ])
    running = [line for line in result.outlines if line.startswith("  demo/adder · talker")]
    finished = next(line for line in result.outlines if line.startswith("arena: finished"))
    (row,) = _rows(project.path)
    assert 0 < _cost(running[-1]) <= _cost(finished) == round(row["cost_usd"], 4)


def test_the_controller_shows_cells_running_on_xdist_workers(project, monkeypatch):
    monkeypatch.setenv("TALKER_CALLS", "2")
    monkeypatch.setenv("TALKER_PAUSE", "1.5")
    make_config(project.path, agents=("talker",), strategies=("always-cloud",))
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-n", "2",
                                          "--arena-progress-interval", "0.5")
    result.assert_outcomes(passed=2)
    # one tick with both cells running, each with the calls its worker published
    lines = result.outlines
    ticks = [i for i, line in enumerate(lines) if line.startswith("arena: 0 done · 2 left · 2 running")]
    assert ticks, result.stdout.str()
    both = [lines[i + 1:i + 3] for i in ticks
            if all(re.search(r"calls 0 local / [12] cloud .*\[gw[01]\]$", line) for line in lines[i + 1:i + 3])]
    assert both, result.stdout.str()
    assert {re.search(r"\[(gw[01])\]", line).group(1) for line in both[-1]} == {"gw0", "gw1"}
    assert {line.split(" · ")[0].strip() for line in both[-1]} == {"demo/adder", "demo/multiplier"}


def test_a_terminal_gets_the_running_cells_redrawn_in_place(project):
    make_config(project.path, agents=("sleeper",), seeds=(1,))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(_pytest_cmd("-k", "adder"), cwd=project.path, stdin=follower, stdout=follower,
                            stderr=follower, env=dict(os.environ, SLEEPER_SECONDS="2.5", TERM="xterm", COLUMNS="120"))
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 65536) if ready else b""
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(30) == 0
    os.close(leader)
    screen = b"".join(chunks).decode("utf-8", "replace")
    draws = re.findall(r"\x1b\[1B\r  demo/adder · sleeper · none · s1 · (\d) s", screen)
    assert len(draws) >= 2 and draws[-1] > draws[0], "the running cell is redrawn with its elapsed time"
    assert "\x1b7\x1b[1B\r\x1b[J\x1b8" in screen, "and erased before pytest writes"
    assert "arena: started" not in screen, "no plain lines on a terminal"
    assert re.search(r"1 passed", screen)


def test_status_shows_a_live_run_then_the_same_run_killed(project):
    make_config(project.path, agents=("oracle", "talker"), strategies=("always-cloud",), seeds=(1,))
    env = dict(os.environ, TALKER_CALLS="1", TALKER_PAUSE="60")
    proc = subprocess.Popen(_pytest_cmd("-k", "adder"), cwd=project.path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(lambda: any(e.get("calls_cloud") for e in _status_json(project.path).get("running", [])),
                  "a running cell with a routed call")
        live = _status(project.path)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert live.returncode == 0, live.stderr
    text = live.stdout
    assert f"{OUT}: running (pid {proc.pid} on " in text
    assert "cells: 1 done (pass 1) · 1 left of 2" in text
    (running,) = [line for line in text.splitlines() if "demo/adder · talker" in line]
    assert "always-cloud · s1 ·" in running and "calls 0 local / 1 cloud" in running and _cost(running) > 0
    assert "ETA: about" in text and "× 1 left / 1 worker" in text

    killed = _status(project.path).stdout
    assert f"{OUT}: stopped (process gone: pid {proc.pid} is not running" in killed
    assert "cells: 1 done (pass 1) · 1 left of 2" in killed
    assert "in flight when it stopped, no row (resume re-runs them): 1" in killed
    assert "demo/adder · talker · always-cloud · s1" in killed
    assert "resume: pytest -p no:cacheprovider --arena-config=arena.yaml -k adder --arena-resume" in killed
    assert "ETA" not in killed


def test_status_of_a_folder_that_is_not_a_results_folder_is_one_line(project):
    (project.path / "elsewhere").mkdir()
    result = _status(project.path, "elsewhere")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "elsewhere: not a pytest-arena results folder (no status.json or raw.jsonl); pass a sweep's out_dir "
        "(the config's out_dir, or --arena-out)"]


@pytest.mark.parametrize("how, args", [(signal.SIGINT, ()), (signal.SIGTERM, ()), (signal.SIGINT, ("-n", "2"))],
                         ids=["ctrl-c", "sigterm", "ctrl-c-xdist"])
def test_ctrl_c_pauses_quickly_keeps_finished_rows_and_resume_completes(project, how, args):
    make_config(project.path, agents=("oracle", "sleeper"), seeds=(1, 2))
    seconds = "47.125"  # a duration no other process sleeps: finds the agent in the process table
    args = ("-k", "adder", *args)
    # As from a terminal: a job started in the background by a script inherits SIGINT ignored, and
    # Python then keeps ignoring it (a test run started with `&` saw Ctrl-C do nothing).
    proc = subprocess.Popen(_pytest_cmd(*args), cwd=project.path, env=dict(os.environ, SLEEPER_SECONDS=seconds),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for(lambda: any(e["agent"] == "sleeper" for e in _status_json(project.path).get("running", []))
                  and _agent_pids(seconds) and _rows(project.path), "the sleeper cell running")
        done_before = len(_rows(project.path))
        sent = time.monotonic()
        # a terminal's Ctrl-C reaches the whole foreground process group (xdist's workers too)
        (os.killpg if "-n" in args else os.kill)(proc.pid, how)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert took < 4.0, f"took {took:.1f} s to stop"  # ~1 s with the machine's load at 10; slack beyond that
    assert proc.returncode == pytest.ExitCode.INTERRUPTED
    reason = "Ctrl-C" if how == signal.SIGINT else "SIGTERM"
    assert f"pytest-arena: interrupted ({reason}): {done_before} done (pass {done_before})" in out
    assert re.search(r"; [12] cell\(s\) in flight got no row", out)
    resume = " ".join(["pytest -p no:cacheprovider --arena-config=arena.yaml", *args, "--arena-resume"])
    assert f"resume: {resume}" in out
    assert "INFRA-ERROR" not in out and "infra" not in out.lower()
    assert "pass rate" not in out, "the analysis is skipped"
    _wait_for(lambda: not _agent_pids(seconds), "the agent killed", timeout_s=2)
    rows = _rows(project.path)
    assert len(rows) == done_before >= 1 and {r["outcome"] for r in rows} == {"pass"}
    assert _status_json(project.path)["state"] == "interrupted"
    assert "resume: pytest" in _status(project.path).stdout

    resumed = subprocess.run(_pytest_cmd(*args, "--arena-resume"), cwd=project.path, capture_output=True,
                             text=True, env=dict(os.environ, SLEEPER_SECONDS="0.2"), timeout=120)
    assert f"{4 - done_before} passed, {done_before} skipped" in resumed.stdout
    keys = [r["cell_key"] for r in _rows(project.path)]
    assert len(keys) == len(set(keys)) == 4
    assert _status_json(project.path)["state"] == "finished"


def _agent_pids(seconds: str) -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[:2] == [b"sleep", seconds.encode()]:
            pids.append(int(cmdline.parent.name))
    return pids


def test_a_ctrl_c_a_worker_reported_first_is_still_the_users_ctrl_c_and_xdists_own_stops_are_not():
    from xdist.dsession import Interrupted

    from pytest_arena.plugin.progress import is_ctrl_c

    assert is_ctrl_c(KeyboardInterrupt()) and is_ctrl_c(KeyboardInterrupt("SIGTERM"))
    # the race the xdist variant above can lose under load: the worker's report handled first
    assert is_ctrl_c(Interrupted("<WorkerController gw1> received keyboard-interrupt"))
    assert not is_ctrl_c(Interrupted("stopping after 1 failures"))  # -x / --maxfail: the session stopped itself

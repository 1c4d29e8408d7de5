"""Sweeps on several machines through the real engine (pytest-xdist over execnet, no mocks of it):
socket workers started from their own checkouts with their own HOME, unable to write the
controller's results folder (bubblewrap binds it read-only); a ``popen//chdir=`` worker; a worker
killed mid-cell."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_arena.rows import Row

from .arena_project import TEST_AGENTS_CONFTEST, make_config, make_task

WORKER_PID_CONFTEST = '''
import os
from pathlib import Path


def pytest_configure(config):
    if hasattr(config, "workerinput") and os.environ.get("PID_DIR"):
        Path(os.environ["PID_DIR"], config.workerinput["workerid"] + ".pid").write_text(str(os.getpid()))
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_task(pytester.path)
    make_task(pytester.path, "demo/multiplier", module="multiplier")
    pytester.makeconftest(TEST_AGENTS_CONFTEST + WORKER_PID_CONFTEST)
    return pytester


def rows(root: Path) -> list[dict]:
    path = root / "results/demo/raw.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def host_checkout(project: pytest.Pytester, name: str) -> Path:
    """Another machine: its own copy of the project and its own HOME."""
    host = project.path.parent / f"{project.path.name}-{name}"
    shutil.copytree(project.path, host / "checkout", ignore=shutil.ignore_patterns("results", "*.pid"))
    (host / "home").mkdir()
    return host


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_socket_server(host: Path, readonly: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(readonly), str(readonly), "--chdir", str(host),
           sys.executable, "-u", "-m", "execnet.script.socketserver", f"127.0.0.1:{port}"]
    env = dict(os.environ, HOME=str(host / "home"), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert "Entering Accept loop" in line, line
    return proc, port


def assert_complete_rows(got: list[dict], count: int) -> None:
    assert len(got) == count
    for row in got:
        Row.model_validate(row)  # every field present and typed
        assert row["provenance"]["host"] == socket.gethostname()
    assert len({r["run_id"] for r in got}) == len({r["cell_key"] for r in got}) == count


def test_socket_workers_on_other_checkouts_send_every_row_home(project):
    make_config(project.path, seeds=(1, 2), expect={"null": "fail"})
    hosts = [host_checkout(project, f"host{i}") for i in (1, 2)]
    servers = [start_socket_server(host, readonly=project.path) for host in hosts]
    try:
        result = project.runpytest_subprocess(
            "--arena-config", "arena.yaml", "-d", *[a for (_, port), host in zip(servers, hosts)
                                           for a in ("--tx", f"socket=127.0.0.1:{port}//chdir={host / 'checkout'}")])
    finally:
        for proc, _ in servers:
            proc.kill()
            proc.wait()
    result.assert_outcomes(passed=8)
    got = rows(project.path)
    assert_complete_rows(got, 8)
    assert {r["provenance"]["worker"] for r in got} == {"gw0", "gw1"}
    for row in got:
        folder = project.path / "results/demo" / row["output_ref"]
        assert row["artifacts"]["stored"] == "results"
        assert (folder / "junit.xml").is_file() and (folder / "workspace" / "adder.py").exists() or \
            (folder / "workspace" / "multiplier.py").exists()
    for host in hosts:
        assert not (host / "checkout" / "results").exists(), "a worker wrote into its own results folder"


def test_popen_chdir_worker_and_artifacts_over_the_cap_stay_on_the_host(project):
    make_config(project.path, expect={"null": "fail"}, extra="hosts: {artifacts_cap_mb: 0}\n")
    host = host_checkout(project, "chdir")
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-d", "--tx",
                                          f"popen//chdir={host / 'checkout'}")
    result.assert_outcomes(passed=4)
    got = rows(project.path)
    assert_complete_rows(got, 4)
    for row in got:
        assert row["artifacts"]["stored"] == "host"
        assert (Path(row["artifacts"]["path"]) / "junit.xml").is_file()
        assert not (project.path / "results/demo" / row["output_ref"]).exists()


def test_a_worker_killed_mid_cell_leaves_one_infra_error_row_and_resume_reruns_only_it(project):
    make_config(project.path, agents=("sleeper",), seeds=(1, 2, 3))
    env = dict(os.environ, SLEEPER_SECONDS="1.5", PID_DIR=str(project.path))
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "--arena-config", "arena.yaml", "-n", "2",
                             "-p", "no:cacheprovider", "--arena-no-report"],
                            cwd=project.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    raw = project.path / "results/demo/raw.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (raw.is_file() and raw.read_text().strip()):
        time.sleep(0.05)
    time.sleep(0.5)  # the next cells are under way
    os.kill(int((project.path / "gw1.pid").read_text()), signal.SIGKILL)
    output, _ = proc.communicate(timeout=120)
    got = rows(project.path)
    assert len(got) == 6, output
    crashed = [r for r in got if r["outcome"] == "infra_error"]
    assert len(crashed) == 1 and "gw1" in crashed[0]["error"] and "died" in crashed[0]["error"], output
    assert {r["outcome"] for r in got} - {"infra_error"} == {"pass"}
    assert len({r["cell_key"] for r in got}) == 6
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "--arena-resume", "--arena-no-report")
    result.assert_outcomes(passed=1, skipped=5)

"""Sweeps on several machines through the real engine (pytest-xdist over execnet, no mocks of it):
socket workers started from their own checkouts with their own HOME, unable to write the
controller's results folder (bubblewrap binds it read-only); a ``popen//chdir=`` worker; a worker
killed mid-cell.

Every process runs pytest-arena from one snapshot of it taken at the start of the test session
(``release``, first on PYTHONPATH): hosts compare the content of what they run, and an edit to the
working tree between the controller's start and a worker's would otherwise reach one side only."""
from __future__ import annotations

import contextlib
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

from pytest_arena.cell.rows import Row
from pytest_arena.paths import SUITES_FOLDER, shipped_dir
from pytest_arena.sweep.digest import package_folders

from .arena_project import CHATTER_CONFTEST, TEST_AGENTS_CONFTEST, make_config, two_model_config, two_task_project

WORKER_PID_CONFTEST = '''
import os
from pathlib import Path


def pytest_configure(config):
    if hasattr(config, "workerinput") and os.environ.get("PID_DIR"):
        Path(os.environ["PID_DIR"], config.workerinput["workerid"] + ".pid").write_text(str(os.getpid()))
'''


def snapshot_package(site: Path) -> Path:
    """This pytest-arena copied into ``site`` as a pip install lays it out: its package folders,
    and the shipped task suites and configs under ``pytest_arena/suites/``."""
    for prefix, folder in package_folders().items():
        shutil.copytree(folder, site / prefix, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    for name in ("tasks", "configs"):
        shutil.copytree(shipped_dir(name), site / "pytest_arena" / SUITES_FOLDER / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return site


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_package(tmp_path_factory.mktemp("release"))


@pytest.fixture
def project(pytester: pytest.Pytester, release: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(release))
    return two_task_project(pytester, TEST_AGENTS_CONFTEST + WORKER_PID_CONFTEST)


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


def start_socket_server(host: Path, readonly: Path, env: dict | None = None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = ["bwrap", "--die-with-parent", "--dev-bind", "/", "/", "--ro-bind", str(readonly), str(readonly),
           "--chdir", str(host), sys.executable, "-u", "-m", "execnet.script.socketserver", f"127.0.0.1:{port}"]
    env = {**os.environ, "HOME": str(host / "home"), **(env or {})}  # PYTHONPATH: the release, unless env says
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert "Entering Accept loop" in line, line
    return proc, port


@contextlib.contextmanager
def socket_servers(project: pytest.Pytester, hosts: list[Path], env: dict | None = None):
    """One execnet socket server per host checkout; yields (ports, the ``--tx`` arguments that
    reach them); every server is killed on the way out."""
    servers: list[tuple[subprocess.Popen, int]] = []
    try:
        for host in hosts:
            servers.append(start_socket_server(host, readonly=project.path, env=env))
        ports = [port for _, port in servers]
        yield ports, [a for port, host in zip(ports, hosts)
                      for a in ("--tx", f"socket=127.0.0.1:{port}//chdir={host / 'checkout'}")]
    finally:
        for proc, _ in servers:
            proc.kill()
            proc.wait()


def assert_complete_rows(got: list[dict], count: int) -> None:
    assert len(got) == count
    for row in got:
        Row.model_validate(row)  # every field present and typed
        assert row["provenance"]["host"] == socket.gethostname()
    assert len({r["run_id"] for r in got}) == len({r["cell_key"] for r in got}) == count


def test_socket_workers_on_other_checkouts_send_every_row_home(project):
    make_config(project.path, seeds=(1, 2), expect={"null": "fail"})
    hosts = [host_checkout(project, f"host{i}") for i in (1, 2)]
    with socket_servers(project, hosts) as (_, tx):
        result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-d", *tx)
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


VERSIONED_AGENT_CONFTEST = '''

class Versioned(_Builtin):
    """Like oracle, with the version `setup` would have written under the host's install root."""
    name = "versioned"

    def version(self, install_root):
        marker = install_root / "VERSION"
        return marker.read_text().strip() if marker.is_file() else None

    def run(self, ctx):
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        return AgentResult(exit_code=0, duration_s=0.0)


register_agent(Versioned.name, Versioned)
'''


def agents_dir(root: Path, version: str) -> Path:
    folder = root / f"agents-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "VERSION").write_text(version)
    return folder


def assert_refused_in_one_line(result, port: int, difference: str) -> None:
    output = result.stdout.str() + result.stderr.str()
    lines = [line for line in output.splitlines() if "differs from the controller's" in line]
    assert len(lines) == 1, output
    assert f"host gw0 (socket=127.0.0.1:{port}): {difference}" in lines[0], output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert "replacing crashed worker" not in output, output
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_a_host_with_another_agent_version_is_refused_in_one_line(project, monkeypatch):
    (project.path / "conftest.py").write_text((project.path / "conftest.py").read_text() + VERSIONED_AGENT_CONFTEST)
    make_config(project.path, agents=("versioned",))
    monkeypatch.setenv("ARENA_AGENTS_DIR", str(agents_dir(project.path.parent, "1.0")))
    host = host_checkout(project, "older")
    with socket_servers(project, [host], env={"ARENA_AGENTS_DIR": str(agents_dir(host, "0.9"))}) as ([port], tx):
        result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-d", *tx)
    assert_refused_in_one_line(result, port, "agent versioned 0.9 differs from the controller's 1.0; "
                                             "install the same version there "
                                             "(python -m pytest_arena setup --agents versioned)")
    assert not (project.path / "results/demo/raw.jsonl").exists()


def test_a_host_with_another_pricing_table_is_refused_in_one_line(project):
    table = json.loads((Path(__file__).resolve().parents[2] / "router/data/pricing.json").read_text())
    (project.path / "pricing.json").write_text(json.dumps(table))
    make_config(project.path, agents=("oracle",), extra="pricing: {table: pricing.json}\n")
    host = host_checkout(project, "repriced")
    table["models"]["gpt-5"]["input"] = 9.99
    (host / "checkout" / "pricing.json").write_text(json.dumps(table))
    with socket_servers(project, [host]) as ([port], tx):
        result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-d", *tx)
    assert_refused_in_one_line(result, port, "the pricing table sha256 ")
    assert "use the same table there" in result.stdout.str() + result.stderr.str()


def test_a_host_that_goes_away_ends_its_cells_with_one_grouped_message(project):
    make_config(project.path, agents=("sleeper",), seeds=(1, 2, 3))
    hosts = [host_checkout(project, f"far{i}") for i in (1, 2)]
    worker_env = {"SLEEPER_SECONDS": "1.5", "PID_DIR": str(project.path.parent)}
    with socket_servers(project, hosts, env=worker_env) as (ports, tx):
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--arena-config", "arena.yaml", "-p", "no:cacheprovider",
             "--arena-no-report", "-d", *tx],
            cwd=project.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        raw = project.path / "results/demo/raw.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (raw.is_file() and raw.read_text().strip()):
            time.sleep(0.05)
        time.sleep(0.5)  # gw1's next cell is under way
        os.kill(int((project.path.parent / "gw1.pid").read_text()), signal.SIGKILL)  # the server and its worker
        output, _ = proc.communicate(timeout=120)
    port = ports[1]
    got = rows(project.path)
    assert len(got) == 6, output
    assert [r["outcome"] for r in got].count("infra_error") == 1, output
    assert {r["provenance"]["worker"] for r in got if r["outcome"] == "pass"} >= {"gw0"}
    lines = [line for line in output.splitlines() if "went away" in line]
    assert len(lines) == 1, output
    assert lines[0].startswith(f"host gw1 (socket=127.0.0.1:{port}) went away after "), output
    assert lines[0].endswith("1 cell got infra_error rows; re-run them with --arena-resume or --lf"), output
    assert "INTERNALERROR" not in output and "Traceback" not in output, output


def test_loadgroup_keeps_each_local_model_on_one_worker_and_cloud_cells_ungrouped(project):
    from tests.fakes.fake_ollama import start_fake_ollama

    (project.path / "conftest.py").write_text((project.path / "conftest.py").read_text() + CHATTER_CONFTEST)
    fakes = [start_fake_ollama(["model-a", "model-b"], load_s=0.3) for _ in range(2)]
    try:
        two_model_config(project.path, [fake.base_url for fake in fakes])
        result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-n", "2", "--dist", "loadgroup",
                                              "--arena-no-report", "-p", "no:cacheprovider")
        loads = [fake.app.state.loads for fake in fakes]
    finally:
        for fake in fakes:
            fake.stop()
    result.assert_outcomes(passed=16)
    got = rows(project.path)
    local = [r for r in got if r["router_strategy"] == "always-local"]
    workers = {model: {r["provenance"]["worker"] for r in local if r["local_model_id"] == model}
               for model in ("ollama/model-a", "ollama/model-b")}
    assert all(len(w) == 1 for w in workers.values()), workers
    assert workers["ollama/model-a"] != workers["ollama/model-b"], workers
    assert loads == [1, 1], "each host loaded its one model once"
    assert not any("@" in r["node_id"].rpartition("]")[2] for r in got), "rows carry the plain node id"
    assert "[gw0]" in result.stdout.str() and "[gw1]" in result.stdout.str()


KEY_PROBE_CONFTEST = '''

import json as _json


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        from pathlib import Path as _Path
        keys = sorted(k for k in os.environ if k.endswith("_API_KEY"))
        _Path(config.workerinput["workerid"] + ".keys").write_text(_json.dumps(keys))
'''
SENTINELS = {"ANTHROPIC_API_KEY": "sk-ant-sentinel-7f3a", "OPENAI_API_KEY": "sk-openai-sentinel-9c1d"}


def test_no_cloud_key_reaches_a_worker_whose_cells_need_none_and_rows_carry_none(project, monkeypatch):
    (project.path / "conftest.py").write_text((project.path / "conftest.py").read_text() + KEY_PROBE_CONFTEST)
    make_config(project.path, expect={"null": "fail"})
    for name, value in SENTINELS.items():
        monkeypatch.setenv(name, value)
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    for worker in ("gw0", "gw1"):
        assert json.loads((project.path / f"{worker}.keys").read_text()) == []
    results = project.path / "results"
    written = b"".join(f.read_bytes() for f in results.rglob("*") if f.is_file())
    assert written and not any(value.encode() in written for value in SENTINELS.values())
    assert not any(value in result.stdout.str() + result.stderr.str() for value in SENTINELS.values())


def test_only_the_key_the_cells_need_reaches_a_popen_worker(project, monkeypatch):
    (project.path / "conftest.py").write_text((project.path / "conftest.py").read_text() + KEY_PROBE_CONFTEST)
    make_config(project.path, agents=("caller",), strategies=("always-cloud",), expect={"caller": "fail"})
    config = project.path / "arena.yaml"
    config.write_text(config.read_text().replace("cloud: scripted", "cloud: openai/gpt-5"))
    for name, value in SENTINELS.items():
        monkeypatch.setenv(name, value)
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-n", "2", "-p", "no:cacheprovider",
                                          "--arena-no-report")
    result.assert_outcomes(passed=2)
    for worker in ("gw0", "gw1"):
        assert json.loads((project.path / f"{worker}.keys").read_text()) == ["OPENAI_API_KEY"]
    written = b"".join(f.read_bytes() for f in (project.path / "results").rglob("*") if f.is_file())
    assert written and not any(value.encode() in written for value in SENTINELS.values())


def test_a_worker_without_the_config_in_its_checkout_is_one_line_not_a_traceback(project):
    make_config(project.path, agents=("oracle",))
    elsewhere = project.path.parent / f"{project.path.name}-empty"
    elsewhere.mkdir()
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-d", "--tx", f"popen//chdir={elsewhere}")
    output = result.stdout.str() + result.stderr.str()
    lines = [line for line in output.splitlines() if "host gw0 (popen): " in line]
    assert len(lines) == 1 and "arena.yaml" in lines[0] and "its own checkout" in lines[0], output
    assert "Traceback" not in output and "replacing crashed worker" not in output, output
    assert result.ret == pytest.ExitCode.USAGE_ERROR

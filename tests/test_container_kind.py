"""The container kind: real podman containers from the image `setup --container-image` builds, each
wall hit by a real process. Skipped, with the reason, where podman or the image is missing (build
it with `python -m pytest_arena setup --container-image`; ARENA_CONTAINER_DIR says where)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import pytest
from core.arena_project import TEST_AGENTS_CONFTEST, make_config, make_task  # tests/ is on sys.path

from pytest_arena.sandbox import BoxSpec, get_sandbox_kind
from pytest_arena.sandbox.container import LABEL, built_image, leftover_containers
from pytest_arena.sandbox.container_image import SETUP_COMMAND
from pytest_arena.sandbox.kinds import availability
from pytest_arena.sandbox.run import Limits, RouterLink, run_sandboxed
from tests.fakes.uds_router import router_on_unix_socket
from tests.procs import processes_with

PY = sys.executable
KIND = get_sandbox_kind("container")
_found = availability("container")
pytestmark = pytest.mark.skipif(not _found, reason=f"container kind: {KIND.title} {_found.reason}")


def python(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def container(cmd: list[str], workdir: Path, limits: Limits, **kw) -> object:
    return run_sandboxed(cmd, workdir=workdir, limits=limits, kind="container", **kw)


def our_containers() -> list[str]:
    """Every container a box of this machine started that podman still lists."""
    out = subprocess.run(["podman", "ps", "--all", "--filter", f"label={LABEL}", "--format", "{{.Names}}"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return out.split()


@pytest.fixture
def outside():
    """A host folder no box shows (not under /tmp: a container's /tmp is its own tmpfs anyway)."""
    folder = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="arena-container-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_command_runs_in_its_workspace_with_a_minimal_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_TEST_SECRET", "must-not-leak")
    (tmp_path / "given.txt").write_text("from the host")
    result = container(python("""
        import os
        print(os.getcwd(), os.environ["HOME"], os.environ.get("ARENA_TEST_SECRET"), os.environ["EXTRA"])
        print(open("given.txt").read())
        open("made-inside.txt", "w").write("ok")
        raise SystemExit(3)
    """), tmp_path, Limits(wall_s=60), env={"EXTRA": "a value with spaces = and quotes \""})
    assert result.kind == "container"
    assert result.exit_code == 3 and not result.timed_out, result.stderr
    first, second = result.stdout.splitlines()
    assert first == f"{tmp_path} {tmp_path} None a value with spaces = and quotes \""
    assert second == "from the host"
    assert (tmp_path / "made-inside.txt").read_text() == "ok"


def test_writes_outside_the_workspace_and_writable_folders_fail(tmp_path, outside):
    workdir, writable, readonly = (tmp_path / n for n in ("w", "out", "ro"))
    for folder in (workdir, writable, readonly):
        folder.mkdir()
    marker = f"arena-private-tmp-{uuid.uuid4().hex}"
    result = container(python(f"""
        import errno
        for path in ({str(outside / 'x')!r}, {str(readonly / 'x')!r}, "/usr/x", "/etc/x", "/x",
                     {str(writable / 'x')!r}, "/tmp/{marker}"):
            try:
                open(path, "w").write("x")
                print(path, "written")
            except OSError as exc:
                print(path, errno.errorcode[exc.errno])
    """), workdir, Limits(wall_s=60), writable=[writable], readonly=[readonly])
    got = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines())
    assert got[str(outside / "x")] == "ENOENT", result.stderr  # not even there
    assert got[str(readonly / "x")] == got["/usr/x"] == got["/etc/x"] == got["/x"] == "EROFS"
    assert got[str(writable / "x")] == got[f"/tmp/{marker}"] == "written"
    assert (writable / "x").exists() and not (readonly / "x").exists() and not (outside / "x").exists()
    assert not Path(f"/tmp/{marker}").exists()  # the container's /tmp is its own


def test_hidden_paths_secrets_and_the_host_look_empty(tmp_path, outside):
    shown = tmp_path / "shown"
    hidden = shown / "reference"
    hidden.mkdir(parents=True)
    (hidden / "solution.py").write_text("SECRET = 1\n")
    (outside / "secret.txt").write_text("s3cret")
    result = container(python(f"""
        import os
        def read(path):
            try:
                return repr(open(path).read())
            except OSError as exc:
                return type(exc).__name__
        print("hidden", os.listdir({str(hidden)!r}))
        print("outside", read({str(outside / 'secret.txt')!r}))
        print("home", os.path.exists({str(Path.home() / '.cache')!r}))
        print("shadow", read("/etc/shadow"))
        print("sys", os.listdir("/sys/class") if os.path.isdir("/sys/class") else [])
        print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit())[:1], {os.getpid()} in
              [int(p) for p in os.listdir("/proc") if p.isdigit()])
    """), shown, Limits(wall_s=60), readonly=[shown], hidden=[hidden])
    got = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert got["hidden"] == "[]", result.stderr
    assert got["outside"] == "FileNotFoundError" and got["home"] == "False"
    assert got["shadow"] == "''"
    assert got["sys"] == "[]"
    assert got["pids"] == "[1] False"  # its own pid namespace: no host process in sight
    assert (hidden / "solution.py").exists()


def test_the_memory_cap_holds_for_the_whole_tree(tmp_path):
    # Four processes of 120 MB each: every one is under the per-process address-space cap (256 MB),
    # together they are far over the container's memory; the kernel kills what does not fit.
    hog = "import time; b = b'x' * (120 << 20); time.sleep(4)"
    result = container(python(f"""
        import subprocess, sys
        hogs = [subprocess.Popen([sys.executable, "-c", {hog!r}]) for _ in range(4)]
        print(sorted(h.wait() for h in hogs))
    """), tmp_path, Limits(wall_s=60, memory_mb=256))
    codes = json.loads(result.stdout or "null")
    assert codes is not None, result.stderr
    assert -9 in codes, f"no hog was killed: {codes}"  # SIGKILL from the cgroup's OOM killer


def test_the_process_cap_holds(tmp_path):
    result = container(python("""
        import os, time
        started = 0
        try:
            while started < 1000:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                started += 1
        except OSError as exc:
            print("fork refused after", started, exc.errno)
    """), tmp_path, Limits(wall_s=60, max_procs=40))
    words = result.stdout.split()
    assert words[:3] == ["fork", "refused", "after"], result.stdout + result.stderr
    assert int(words[3]) < 40 and words[4] == "11"  # EAGAIN


def test_wall_time_kills_everything_and_no_container_survives(tmp_path):
    marker = f"arena-sleeper-{uuid.uuid4().hex}"
    sleeper = f"import time; time.sleep(120)  # {marker}"
    spec = BoxSpec(workdir=tmp_path)
    with KIND.open(spec) as box:
        left = box.run(python(f"""
            import subprocess, sys
            subprocess.Popen([sys.executable, "-c", {sleeper!r}], start_new_session=True)
            print("left one behind")
        """), Limits(wall_s=60))
        assert left.stdout.strip() == "left one behind" and not left.timed_out, left.stderr
        assert processes_with(marker) == []  # a command that ended took what it started along
        result = box.run(python(f"""
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", {sleeper!r}], start_new_session=True)
            time.sleep(120)
        """), Limits(wall_s=3))
        assert result.timed_out and result.killed_reason == "wall time 3 s exceeded"
        assert result.exit_code is not None and result.exit_code < 0
        assert processes_with(marker) == []
        name = box.container.name if box.container else None
        assert name in our_containers()  # the box holds its container until it closes
        after = box.run(["true"], Limits(wall_s=60))  # and still runs commands
        assert after.exit_code == 0, after.stderr
    assert name not in our_containers()
    assert leftover_containers() == []


def test_containers_of_a_killed_process_go_with_the_next_box(tmp_path):
    """A process killed with its boxes open cannot remove its containers; the next process that
    starts one on this machine does."""
    crashing = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from pytest_arena.sandbox import BoxSpec, Limits, get_sandbox_kind
        box = get_sandbox_kind("container").open(BoxSpec(workdir=Path({str(tmp_path)!r})))
        box.run(["true"], Limits(wall_s=60))
        print(box.container.name, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    killed = subprocess.run([PY, "-c", crashing], capture_output=True, text=True, timeout=300)
    orphan = killed.stdout.strip()
    assert killed.returncode == -9 and orphan in our_containers(), killed.stderr
    nextone = "from pytest_arena.sandbox import *; from pathlib import Path\n" \
              f"get_sandbox_kind('container').open(BoxSpec(workdir=Path({str(tmp_path)!r}))).run(['true'], " \
              "Limits(wall_s=60))"
    subprocess.run([PY, "-c", nextone], check=True, timeout=300)
    assert orphan not in our_containers()


def test_no_network_but_the_router_link(tmp_path):
    """Inside, 127.0.0.1:<port> reaches the router's Unix socket through the forwarder; a port
    listening on the host does not answer."""
    uds = tmp_path / "router.sock"

    with router_on_unix_socket(uds), socket.create_server(("127.0.0.1", 0)) as other:
        other.setblocking(False)
        result = container(python(f"""
            import http.client, socket
            conn = http.client.HTTPConnection("127.0.0.1", 8787, timeout=10)
            conn.request("GET", "/run/abc/v1/models")
            print(conn.getresponse().read().decode())
            for host, port in (("127.0.0.1", {other.getsockname()[1]}), ("1.1.1.1", 53)):
                try:
                    socket.create_connection((host, port), timeout=3)
                    print("reached", host)
                except OSError:
                    print("closed", host)
        """), tmp_path, Limits(wall_s=60), router=RouterLink(uds_path=str(uds), port=8787))
        with pytest.raises(BlockingIOError):
            other.accept()
    assert result.stdout.splitlines() == ["router saw /run/abc/v1/models", "closed 127.0.0.1", "closed 1.1.1.1"], \
        result.stderr


def test_a_run_that_asks_for_the_network_gets_it_in_a_fresh_container(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server, KIND.open(BoxSpec(workdir=tmp_path)) as box:
        reach = python(f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=5)
                print("reached")
            except OSError:
                print("closed")
        """)
        closed = box.run(reach, Limits(wall_s=60))
        first = box.container.name if box.container else None
        opened = box.run(reach, Limits(wall_s=60, network=True))
        assert (closed.stdout.strip(), opened.stdout.strip()) == ("closed", "reached"), closed.stderr + opened.stderr
        assert box.container is not None and box.container.name != first  # caps are a container's


def test_a_missing_image_names_the_setup_command(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_CONTAINER_DIR", str(tmp_path / "none-built"))
    assert built_image() is None
    found = KIND.available()
    assert not found and SETUP_COMMAND in found.reason
    assert KIND.install_hint == SETUP_COMMAND
    built = subprocess.run([PY, "-m", "pytest_arena", "setup", "--container-image"], capture_output=True,
                           text=True, timeout=300, env={**os.environ, "ARENA_CONTAINER_DIR": str(tmp_path / "built")})
    assert built.returncode == 0, built.stdout + built.stderr
    monkeypatch.setenv("ARENA_CONTAINER_DIR", str(tmp_path / "built"))
    assert built_image() is not None and KIND.available()


def test_a_sweep_runs_its_agent_and_scoring_in_containers(pytester):
    """Through the real plugin: the agent's process and the acceptance tests run in containers,
    and the row says so."""
    make_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST)
    make_config(pytester.path, agents=("sleeper",), out_dir="results/c",
                extra="sandbox: {agents: container, scoring: container}\n")
    result = pytester.runpytest_subprocess("--arena-config", "arena.yaml", "-p", "no:cacheprovider", timeout=600)
    result.assert_outcomes(passed=1)
    row = json.loads((pytester.path / "results" / "c" / "raw.jsonl").read_text().splitlines()[0])
    assert row["outcome"] == "pass", row.get("error")
    assert row["sandbox"]["agent"] == "container" and row["sandbox"]["scoring"] == "container"
    assert leftover_containers() == [] and not [n for n in our_containers() if n.startswith("arena-")
                                                and _owner_gone(n)]


def _owner_gone(name: str) -> bool:
    """Whether the process that started container ``name`` (arena-<pid>-...) has exited."""
    pid = int(name.split("-")[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False

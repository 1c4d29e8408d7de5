"""The sandbox: real bwrap/unshare/subprocess runs, each cap hit by a real process."""
from __future__ import annotations

import logging
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

from pytest_arena.sandbox import run as sandbox
from pytest_arena.sandbox.cgroup import pids_cgroup_parent
from pytest_arena.sandbox.kinds import get_sandbox_kind
from pytest_arena.sandbox.launcher import TAIL_BYTES
from pytest_arena.sandbox.run import Limits, SandboxStartError, run_sandboxed, sandbox_kind
from tests.fakes.uds_router import router_on_unix_socket
from tests.procs import processes_with

PY = sys.executable
isolated = pytest.mark.skipif(sandbox_kind() == "subprocess", reason="no sandbox on this machine")
needs_bwrap = pytest.mark.skipif(sandbox_kind() != "bwrap", reason="bwrap is not usable here")


def _kind_works(kind: str) -> bool:
    return bool(get_sandbox_kind(kind).available())


# Each isolating kind this machine has; the property tests run on every one of them.
NETWORK_KINDS = [pytest.param(k, marks=pytest.mark.skipif(not _kind_works(k), reason=f"{k} does not start here"))
                 for k in ("bwrap", "unshare")]


def python(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


@pytest.fixture
def fresh_detection():
    """Forget the detected sandbox kind before and after the test."""
    sandbox.forget_detection()
    yield
    sandbox.forget_detection()


def test_runs_the_command_in_the_workdir_with_a_minimal_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_TEST_SECRET", "must-not-leak")
    result = run_sandboxed(
        python("""
            import os
            print(os.getcwd(), os.environ["HOME"], os.environ.get("ARENA_TEST_SECRET"),
                  os.environ["EXTRA"])
            open("made-inside.txt", "w").write("ok")
            raise SystemExit(3)
        """),
        workdir=tmp_path, limits=Limits(wall_s=30), env={"EXTRA": "given"},
    )
    assert result.exit_code == 3
    assert not result.timed_out and result.killed_reason is None
    assert result.stdout.split() == [str(tmp_path), str(tmp_path), "None", "given"]
    assert (tmp_path / "made-inside.txt").read_text() == "ok"


@needs_bwrap
def test_filesystem_is_read_only_outside_the_workdir_and_writable_paths(tmp_path):
    # Not under /tmp: the sandbox's /tmp is a private, empty tmpfs.
    outside_root = tempfile.TemporaryDirectory(dir="/var/tmp", prefix="arena-test-")
    outside = Path(outside_root.name)
    workdir, writable, hidden = (tmp_path / n for n in ("w", "out", "hidden"))
    for folder in (workdir, writable, hidden):
        folder.mkdir()
    (hidden / "reference.py").write_text("SECRET = 1\n")
    marker = f"arena-private-tmp-{uuid.uuid4().hex}"
    result = run_sandboxed(
        python(f"""
            import errno, os
            for path in ({str(outside / 'x')!r}, {str(writable / 'x')!r}, "/tmp/{marker}"):
                try:
                    open(path, "w").write("x")
                    print(path, "written")
                except OSError as exc:
                    print(path, errno.errorcode[exc.errno])
            try:
                print("hidden holds", os.listdir({str(hidden)!r}))
            except FileNotFoundError:
                print("hidden holds []")  # not even there: nothing outside is bound
        """),
        workdir=workdir, limits=Limits(wall_s=30), writable=[writable], hidden=[hidden],
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{outside / 'x'} E") and "written" not in lines[0]
    assert lines[1] == f"{writable / 'x'} written"
    assert lines[2] == f"/tmp/{marker} written"
    assert lines[3] == "hidden holds []"
    assert not (outside / "x").exists()
    assert (writable / "x").exists()
    assert not Path(f"/tmp/{marker}").exists()  # the sandbox's /tmp is private
    outside_root.cleanup()


def test_wall_time_kills_the_whole_process_tree(tmp_path):
    marker = f"arena-sleeper-{uuid.uuid4().hex}"
    sleeper = f"import time; time.sleep(60)  # {marker}"
    result = run_sandboxed(
        python(f"""
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", {sleeper!r}], start_new_session=True)
            time.sleep(60)
        """),
        workdir=tmp_path, limits=Limits(wall_s=1.5),
    )
    assert result.timed_out
    assert result.killed_reason == "wall time 1.5 s exceeded"
    assert result.exit_code is not None and result.exit_code < 0
    if sandbox_kind() == "bwrap" or pids_cgroup_parent() is not None:
        # Even a child in its own session dies (pid namespace or cgroup); a plain subprocess
        # as a normal user can only kill its process group.
        assert processes_with(marker) == []


def test_memory_cap_makes_allocations_fail(tmp_path):
    result = run_sandboxed(
        python("""
            chunks = []
            try:
                while len(chunks) < 80:  # 4 GB if nothing stops it
                    chunks.append(bytearray(50 * 2**20))
            except MemoryError:
                print("MemoryError after", len(chunks) * 50, "MB")
        """),
        workdir=tmp_path, limits=Limits(wall_s=30, memory_mb=300),
    )
    assert result.stdout.startswith("MemoryError after")
    assert int(result.stdout.split()[2]) < 300


def test_process_cap_makes_fork_fail(tmp_path):
    if os.geteuid() == 0 and pids_cgroup_parent() is None:
        pytest.skip("root without a writable pids cgroup: the kernel ignores RLIMIT_NPROC")
    result = run_sandboxed(
        python("""
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
        """),
        workdir=tmp_path, limits=Limits(wall_s=30, max_procs=40),
    )
    words = result.stdout.split()
    assert words[:3] == ["fork", "refused", "after"], result.stdout + result.stderr
    assert int(words[3]) < 40
    assert words[4] == "11"  # EAGAIN


@pytest.mark.parametrize("kind", NETWORK_KINDS)
def test_no_network_even_to_a_port_listening_on_this_host(tmp_path, kind):
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        port = server.getsockname()[1]
        result = run_sandboxed(
            python(f"""
                import socket
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=5)
                    print("connected")
                except OSError as exc:
                    print("refused", type(exc).__name__)
            """),
            workdir=tmp_path, limits=Limits(wall_s=30), kind=kind,
        )
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected
    # The errno differs (bwrap brings loopback up: refused; a bare unshare namespace: unreachable).
    assert result.stdout.startswith("refused "), result.stdout + result.stderr


@needs_bwrap
def test_network_can_be_allowed(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = run_sandboxed(
            python(f"""
                import socket
                socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
                print("connected")
            """),
            workdir=tmp_path, limits=Limits(wall_s=30, network=True),
        )
    assert result.stdout == "connected\n", result.stderr


def test_output_tails_are_capped_and_keep_the_end(tmp_path):
    result = run_sandboxed(
        python("""
            import sys
            sys.stdout.write("x" * 100_000 + "THE END")
            sys.stderr.write("short")
        """),
        workdir=tmp_path, limits=Limits(wall_s=30),
    )
    assert len(result.stdout.encode()) <= TAIL_BYTES
    assert result.stdout.startswith("[...truncated...]") and result.stdout.endswith("THE END")
    assert result.stderr == "short"


def test_a_sandbox_that_cannot_start_raises(tmp_path):
    with pytest.raises(SandboxStartError, match="could not start"):
        run_sandboxed(["true"], workdir=tmp_path / "missing", limits=Limits(wall_s=30))


def _bin_dir(tmp_path: Path, *, fake_bwrap: bool, unshare: bool) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if fake_bwrap:  # installed but broken, as when user namespaces are disabled
        (bin_dir / "bwrap").write_text("#!/bin/sh\necho 'bwrap: No permissions' >&2\nexit 1\n")
        (bin_dir / "bwrap").chmod(0o755)
    if unshare:
        (bin_dir / "unshare").symlink_to(shutil.which("unshare"))
    return bin_dir


@pytest.mark.skipif(not shutil.which("bwrap"), reason="bwrap not installed")
def test_detection_prefers_bwrap_when_it_starts(fresh_detection):
    assert sandbox_kind() == "bwrap"


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare not installed")
def test_detection_falls_back_to_unshare_when_bwrap_fails(tmp_path, monkeypatch, fresh_detection):
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, fake_bwrap=True, unshare=True)))
    assert sandbox_kind() == "unshare"
    # And that kind really isolates the network.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = run_sandboxed(
            python(f"""
                import errno, socket
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=5)
                except OSError as exc:
                    print(errno.errorcode[exc.errno])
            """),
            workdir=tmp_path, limits=Limits(wall_s=30),
        )
    # A bare network namespace has not even loopback up.
    assert result.stdout.strip() in ("ECONNREFUSED", "ENETUNREACH")


def test_detection_ends_at_a_plain_subprocess_with_one_warning(
    tmp_path, monkeypatch, caplog, fresh_detection
):
    monkeypatch.setenv("PATH", str(_bin_dir(tmp_path, fake_bwrap=True, unshare=False)))
    with caplog.at_level(logging.WARNING, logger="pytest_arena.sandbox.run"):
        assert sandbox_kind() == "subprocess"
        assert sandbox_kind() == "subprocess"
        result = run_sandboxed(python("print('ran')"), workdir=tmp_path, limits=Limits(wall_s=30))
    assert result.stdout == "ran\n"
    warnings = [r for r in caplog.records if "NOT isolated" in r.getMessage()]
    assert len(warnings) == 1
    assert "apt-get install bubblewrap" in warnings[0].getMessage()


@needs_bwrap
def test_nothing_of_the_host_is_visible_but_the_system_and_named_paths(tmp_path):
    """The project tree, other folders, HOME, host processes and /etc's secrets are out of sight."""
    outside = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="arena-test-"))
    (outside / "secret.txt").write_text("s3cret")
    shown = tmp_path / "shown"
    shown.mkdir()
    (shown / "data.txt").write_text("visible")
    try:
        result = run_sandboxed(
            python(f"""
                import os
                def can_read(path):
                    try:
                        return open(path).read()
                    except OSError as exc:
                        return type(exc).__name__
                print("outside", can_read({str(outside / 'secret.txt')!r}))
                print("project", os.path.exists({str(Path(__file__).resolve().parents[1] / 'tasks')!r}))
                print("home", os.path.exists({str(Path.home() / '.cache')!r}))
                print("shown", can_read({str(shown / 'data.txt')!r}))
                print("shadow", repr(can_read("/etc/shadow")))
                pids = [p for p in os.listdir("/proc") if p.isdigit()]
                print("pids", len(pids), {os.getpid()} in map(int, pids))
                print("parent-cwd", can_read("/proc/" + str(os.getppid()) + "/environ")[:40])
            """),
            workdir=shown, limits=Limits(wall_s=30), readonly=[shown],
        )
    finally:
        shutil.rmtree(outside)
    got = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert got["outside"] in ("FileNotFoundError", "PermissionError"), result.stderr
    assert got["project"] == "False" and got["home"] == "False"
    assert got["shown"] == "visible"
    assert got["shadow"] in ("''", "'FileNotFoundError'", "'PermissionError'")
    count, host_pid_seen = got["pids"].split()
    assert int(count) < 10 and host_pid_seen == "False"  # its own /proc: only the sandbox's processes
    assert os.environ.get("PATH", "") not in got["parent-cwd"] or got["parent-cwd"] == ""


@needs_bwrap
def test_the_sandbox_works_when_the_interpreter_lives_under_tmp(tmp_path):
    """bwrap mounts a private /tmp; an interpreter (venv) there is bound back in, not lost."""
    assert str(tmp_path).startswith("/tmp/"), "pytest's tmp_path is expected under /tmp here"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    import pytest_arena
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {[str(Path(pytest_arena.__file__).parents[1])]!r}
        from pathlib import Path
        from pytest_arena.sandbox.run import Limits, run_sandboxed, sandbox_kind
        work = Path({str(tmp_path / 'work')!r}); work.mkdir()
        result = run_sandboxed([sys.executable, "-c", "import sys; print(sys.prefix)"], workdir=work,
                               limits=Limits(wall_s=30))
        print(sandbox_kind(), result.exit_code, result.stdout.strip())
    """)
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["bwrap", "0", str(venv)], out.stdout + out.stderr


@needs_bwrap
def test_a_router_link_is_the_only_way_out(tmp_path):
    """Inside, 127.0.0.1:<port> reaches the router's Unix socket; the host's TCP ports do not."""
    uds = tmp_path / "router.sock"

    with router_on_unix_socket(uds), socket.create_server(("127.0.0.1", 0)) as other:
        other.setblocking(False)
        result = run_sandboxed(
            python(f"""
                import http.client, socket
                conn = http.client.HTTPConnection("127.0.0.1", 8787, timeout=10)
                conn.request("GET", "/run/abc/v1/models")
                print(conn.getresponse().read().decode())
                try:
                    socket.create_connection(("127.0.0.1", {other.getsockname()[1]}), timeout=3)
                    print("other port reached")
                except OSError:
                    print("other port closed")
            """),
            workdir=tmp_path, limits=Limits(wall_s=30),
            router=sandbox.RouterLink(uds_path=str(uds), port=8787),
        )
        with pytest.raises(BlockingIOError):
            other.accept()
    assert result.stdout.splitlines() == ["router saw /run/abc/v1/models", "other port closed"], result.stderr

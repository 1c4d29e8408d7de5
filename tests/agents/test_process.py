"""run_process and agent_result with real subprocesses: hard timeout that kills the whole process
group (even children that ignore SIGTERM), stdin closed, logs kept, failures classified."""
from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

from pytest_arena.agents.process import UNSANDBOXED, agent_result, base_env, run_process


def pid_gone(pid: int) -> bool:
    """Dead or a zombie waiting for init to reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


def wait_until_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pid_gone(pid):
            return True
        time.sleep(0.05)
    return False


def spawn_script(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "agent.py"
    script.write_text(textwrap.dedent(body))
    return [sys.executable, str(script)]


STUBBORN_CHILD = """
    import os, signal, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    open("child.pid", "w").write(str(child.pid))
    {tail}
"""


def test_timeout_kills_the_whole_group_even_a_child_ignoring_sigterm(tmp_path):
    cmd = spawn_script(tmp_path,
                       STUBBORN_CHILD.format(tail="signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"))
    result = run_process(cmd, cwd=tmp_path, env=base_env(tmp_path / "home"), timeout_s=1.5,
                         log_dir=tmp_path / "logs", sandbox=UNSANDBOXED)
    assert result.timed_out and result.exit_code is None
    child = int((tmp_path / "child.pid").read_text())
    assert wait_until_gone(child)
    result_for_agent = agent_result(result, timeout_s=1.5)
    assert result_for_agent.failure == "timeout"
    assert "1.5s" in result_for_agent.reason


def test_children_left_behind_after_a_clean_exit_are_killed(tmp_path):
    # Agents leave language servers and shells behind; the cell must not leak them.
    cmd = spawn_script(tmp_path, STUBBORN_CHILD.format(tail="sys.exit(0)"))
    result = run_process(cmd, cwd=tmp_path, env=base_env(tmp_path / "home"), timeout_s=30,
                         log_dir=tmp_path / "logs", sandbox=UNSANDBOXED)
    assert result.exit_code == 0 and not result.timed_out
    assert wait_until_gone(int((tmp_path / "child.pid").read_text()))
    assert agent_result(result, timeout_s=30).failure is None


def test_stdin_is_closed_and_output_is_kept_per_cell(tmp_path):
    cmd = spawn_script(tmp_path, """
        import sys
        data = sys.stdin.read()  # would block forever on an open terminal
        print("read", len(data), "bytes")
        print("to stderr", file=sys.stderr)
    """)
    result = run_process(cmd, cwd=tmp_path, env=base_env(tmp_path / "home"), timeout_s=30,
                         log_dir=tmp_path / "logs", name="codex", sandbox=UNSANDBOXED)
    assert not result.timed_out
    assert (tmp_path / "logs" / "codex.stdout.log").read_text() == "read 0 bytes\n"
    assert (tmp_path / "logs" / "codex.stderr.log").read_text() == "to stderr\n"


def test_a_non_zero_exit_is_an_agent_crash_with_the_telling_stderr_line(tmp_path):
    cmd = spawn_script(tmp_path, """
        import sys
        print("Loading config", file=sys.stderr)
        print("Error: provider refused the request", file=sys.stderr)
        print("bye", file=sys.stderr)
        sys.exit(3)
    """)
    proc = run_process(cmd, cwd=tmp_path, env=base_env(tmp_path / "home"), timeout_s=30,
                       log_dir=tmp_path / "logs", sandbox=UNSANDBOXED)
    result = agent_result(proc, timeout_s=30)
    assert result.failure == "agent_crash" and result.exit_code == 3
    assert result.reason == "exit 3: Error: provider refused the request"


def test_death_by_signal_is_named(tmp_path):
    cmd = spawn_script(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    proc = run_process(cmd, cwd=tmp_path, env=base_env(tmp_path / "home"), timeout_s=30,
                       log_dir=tmp_path / "logs", sandbox=UNSANDBOXED)
    result = agent_result(proc, timeout_s=30)
    assert result.failure == "agent_crash"
    assert result.reason.startswith("killed by SIGSEGV")


def test_a_crash_signature_fails_a_zero_exit(tmp_path):
    cmd = spawn_script(tmp_path, "print('ok')")
    proc = run_process(cmd, cwd=tmp_path, env=base_env(tmp_path / "home"), timeout_s=30,
                       log_dir=tmp_path / "logs", sandbox=UNSANDBOXED)
    result = agent_result(proc, timeout_s=30, crash="cline finished with 'error'", reported={"calls": 1})
    assert (result.exit_code, result.failure, result.reason) == (0, "agent_crash", "cline finished with 'error'")
    assert result.reported == {"calls": 1}


def test_base_env_isolates_home_and_drops_the_users_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-user-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-user")
    env = base_env(tmp_path / "home")
    assert env["HOME"] == str(tmp_path / "home")
    assert all(Path(env[k]).is_relative_to(tmp_path / "home")
               for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "TMPDIR"))
    assert "sk-user-secret" not in env.values() and "sk-ant-user" not in env.values()
    assert env["PATH"] == os.environ["PATH"]


def test_report_mismatch_flags_only_a_large_gap():
    from pytest_arena.agents.process import report_mismatch

    close = {"prompt_tokens": 10_400, "completion_tokens": 900}
    assert report_mismatch("aider", close, 10_000, 1_000) is None
    bypassed = {"prompt_tokens": 40_000, "completion_tokens": 1_000}
    assert report_mismatch("cline", bypassed, 10_000, 1_000) == (
        "cline reports 40,000 prompt tokens vs 10,000 in the router ledger")
    assert report_mismatch("codex", None, 10_000, 1_000) is None


def _sandboxed(tmp_path: Path, body: str, **box_args):
    """Run ``body`` as an agent process inside a cell's agent sandbox; its stdout lines."""
    import pytest

    from pytest_arena.agents.base import AgentSandbox
    from pytest_arena.sandbox.run import sandbox_kind

    if sandbox_kind() != "bwrap":
        pytest.skip("bwrap is not usable here")
    workspace, home = tmp_path / "workspace", tmp_path / "home"
    workspace.mkdir()
    script = workspace / "agent.py"
    script.write_text(textwrap.dedent(body))
    env = base_env(home)
    box = AgentSandbox(kind="bwrap", writable=(workspace, home), **box_args)
    # the base interpreter: the harness's venv is not visible to agents
    result = run_process([sys._base_executable, str(script)], cwd=workspace, env=env, timeout_s=30,
                         log_dir=tmp_path / "logs", sandbox=box)
    assert result.exit_code == 0, result.tail()
    return result.stdout_path.read_text().splitlines()


def test_an_agent_process_sees_its_workspace_home_and_nothing_of_ours(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_TEST_SECRET_KEY", "sk-must-not-leak")
    project = Path(__file__).resolve().parents[2]
    lines = _sandboxed(tmp_path, f"""
        import os
        open("made.txt", "w").write("ok")
        open(os.environ["HOME"] + "/.rc", "w").write("ok")
        print("project", os.path.exists({str(project / 'tasks')!r}))
        print("harness-venv", os.path.exists({sys.prefix!r}) and {sys.prefix!r} != {sys.base_prefix!r})
        print("host-pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit())[-1] < 50)
        seen = [open("/proc/" + p + "/environ").read() for p in os.listdir("/proc") if p.isdigit()]
        print("secret-seen", any("sk-must-not-leak" in env for env in seen), len(seen))
    """)
    got = dict(line.split(" ", 1) for line in lines)
    assert got["project"] == "False" and got["harness-venv"] == "False"
    assert got["host-pids"] == "True"
    secret_seen, processes = got["secret-seen"].split()
    assert secret_seen == "False" and int(processes) >= 2  # every process it can see, none holds our env
    assert (tmp_path / "workspace" / "made.txt").read_text() == "ok"
    assert (tmp_path / "home" / ".rc").read_text() == "ok"


def test_an_agent_process_reaches_nothing_but_its_router(tmp_path):
    import socket
    import threading

    from pytest_arena.sandbox.run import RouterLink

    uds = tmp_path / "r.sock"
    router = socket.socket(socket.AF_UNIX)
    router.bind(str(uds))
    router.listen(1)

    def answer():
        conn, _ = router.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    with socket.create_server(("127.0.0.1", 0)) as host_port:
        lines = _sandboxed(tmp_path, f"""
            import socket, urllib.request
            print("router", urllib.request.urlopen("http://127.0.0.1:4242/run/x/v1/models", timeout=10).read().decode())
            for target in [("127.0.0.1", {host_port.getsockname()[1]}), ("1.1.1.1", 443)]:
                try:
                    socket.create_connection(target, timeout=3)
                    print("reached", target)
                except OSError:
                    print("blocked", target[0])
        """, router=RouterLink(uds_path=str(uds), port=4242))
    router.close()
    assert lines == ["router ok", "blocked 127.0.0.1", "blocked 1.1.1.1"]

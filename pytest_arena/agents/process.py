"""Run an agent as a subprocess: own process group, stdin closed, hard timeout that kills the
whole group, stdout/stderr kept in files. Inside a cell (``agent_sandbox``), every such process
runs in the agent sandbox: bubblewrap with the workspace, its private HOME and its logs
writable, its own install and the system read-only, nothing else of the host visible, and the
router as its only network peer (see ``pytest_arena.sandbox.run``). Then read what it left: ``agent_result`` classifies
the exit (timeout / agent_crash / finished), ``json_lines`` reads event output, and
``report_mismatch`` compares the agent's own token report with the router's ledger."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pytest_arena.sandbox import leftovers
from pytest_arena.errors import ArenaError
from pytest_arena.sandbox.run import SYSTEM_PATHS, Limits, RouterLink, SandboxStartError, run_sandboxed
from pytest_arena.agents.base import AgentResult

# Processes (and threads) an agent's sandbox may hold at once: node runtimes and language
# servers use dozens of threads each.
AGENT_MAX_PROCS = 4096
LOG_READ_BYTES = 32 << 20  # what an adapter parses of a log: its end
LOG_KEEP_BYTES = 16 << 20  # what a cell keeps of each log on disk: its end (a note says what was cut)


class AgentSandboxError(ArenaError):
    """The agent sandbox could not start (infrastructure, not the agent)."""


@dataclass(frozen=True)
class AgentSandbox:
    """Where one cell's agent processes run. ``kind`` is "bwrap", or "none" when the user opted
    out (``sandbox.agents: none``): then they run as plain subprocesses and the row says so."""

    kind: str
    writable: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = ()
    router: RouterLink | None = None
    file_bytes: int | None = None  # the largest file its processes can write (RLIMIT_FSIZE)


_CURRENT: ContextVar[AgentSandbox | None] = ContextVar("arena_agent_sandbox", default=None)


@contextmanager
def agent_sandbox(box: AgentSandbox):
    """Every ``run_process`` inside this block runs in ``box``."""
    token = _CURRENT.set(box)
    try:
        yield box
    finally:
        _CURRENT.reset(token)


def tool_prefixes() -> list[Path]:
    """Install prefixes of the runtimes agents start (node, git) when they live outside the
    system paths (e.g. nvm under HOME): bound read-only into agent sandboxes."""
    prefixes = []
    for tool in ("node", "git"):
        found = shutil.which(tool)
        if not found:
            continue
        real = Path(found).resolve()
        if not any(str(real).startswith(p + "/") for p in SYSTEM_PATHS):
            prefixes.append(real.parent.parent)
    return prefixes


@dataclass
class ProcessResult:
    exit_code: int | None
    timed_out: bool
    duration_s: float
    stdout_path: Path
    stderr_path: Path

    def tail(self, which: str = "stderr", limit: int = 2000) -> str:
        """The last ``limit`` bytes of a log, decoded; "" when the agent replaced the log by
        anything but a regular file (never followed, never waited on)."""
        path = self.stderr_path if which == "stderr" else self.stdout_path
        return leftovers.read_text(path, limit, tail=True)

    def read(self, which: str = "stdout") -> str:
        """A log for an adapter to parse: its last ``LOG_READ_BYTES`` at most (a report line is
        at the end), never followed, never waited on."""
        return self.tail(which, LOG_READ_BYTES)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def kill_process_group(proc: subprocess.Popen, grace_s: float = 2.0) -> None:
    """SIGTERM the group, then SIGKILL whatever is left after ``grace_s``.

    The group id is the leader's pid (``start_new_session``); it stays valid after the leader
    has exited, so children the agent left behind are found and killed too.
    """
    pgid = proc.pid
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            proc.wait(timeout=0.05)  # reap the leader, or it would keep the group "alive"
        except subprocess.TimeoutExpired:
            continue
        if not _signal_group(pgid, 0):
            return
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)
    try:
        proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
        pass


def run_process(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    log_dir: Path,
    name: str = "agent",
) -> ProcessResult:
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path = log_dir / f"{name}.stdout.log"
    err_path = log_dir / f"{name}.stderr.log"
    box = _CURRENT.get()
    if box is not None and box.kind == "bwrap":
        result = _run_in_sandbox(box, cmd, cwd=cwd, env=env, timeout_s=timeout_s, out_path=out_path,
                                 err_path=err_path, log_dir=log_dir)
    else:
        result = _run_plain(cmd, cwd=cwd, env=env, timeout_s=timeout_s, out_path=out_path, err_path=err_path)
    for path in (out_path, err_path):
        leftovers.keep_tail(path, LOG_KEEP_BYTES)
    return result


def _run_plain(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, out_path: Path,
               err_path: Path) -> ProcessResult:
    start = time.monotonic()
    # Fresh files: never opened through a link or FIFO an earlier step of the agent planted there.
    with leftovers.open_fresh(out_path) as out, leftovers.open_fresh(err_path) as err:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # own process group, so a timeout kills every child
        )
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Kill the group even after a clean exit: agents leave language servers behind.
            kill_process_group(proc)
    return ProcessResult(
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration_s=time.monotonic() - start,
        stdout_path=out_path,
        stderr_path=err_path,
    )


def _run_in_sandbox(box: AgentSandbox, cmd: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float,
                    out_path: Path, err_path: Path, log_dir: Path) -> ProcessResult:
    try:
        result = run_sandboxed(
            cmd, workdir=cwd, env=env, kind="bwrap",
            limits=Limits(wall_s=timeout_s, memory_mb=None, max_procs=AGENT_MAX_PROCS, file_bytes=box.file_bytes),
            writable=(*box.writable, log_dir), readonly=box.readonly, router=box.router,
            stdout_path=out_path, stderr_path=err_path, harness_env=False)
    except SandboxStartError as exc:
        raise AgentSandboxError(f"the agent sandbox could not start: {exc}") from None
    return ProcessResult(exit_code=None if result.timed_out else result.exit_code, timed_out=result.timed_out,
                         duration_s=result.duration_s, stdout_path=out_path, stderr_path=err_path)


def base_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for an agent: isolated HOME and XDG dirs, no API keys of the user."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "TMPDIR": str(home / "tmp"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TERM": "dumb",
        "NO_COLOR": "1",
        "CI": "1",
    }
    (home / "tmp").mkdir(exist_ok=True)
    if extra:
        env.update(extra)
    return env


def json_lines(text: str) -> Iterator[dict]:
    """The JSON objects in an agent's line-oriented output (NDJSON / JSONL), skipping other lines."""
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            yield obj


def crash_reason(text: str, limit: int = 300) -> str:
    """The most telling line of an agent's stderr: the last one that mentions an error, else the
    last non-empty one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    errors = [line for line in lines if "error" in line.lower() or "exception" in line.lower()]
    return leftovers.printable((errors or lines)[-1][:limit])  # no escape sequence reaches a terminal


def agent_result(
    proc: ProcessResult,
    *,
    timeout_s: float,
    reported: dict | None = None,
    crash: str | None = None,
    extra: dict | None = None,
) -> AgentResult:
    """Turn a finished agent process into an ``AgentResult``.

    ``crash`` is an adapter-detected failure signature (e.g. the agent's own report says it
    errored) that counts as ``agent_crash`` even when the exit code is 0.
    """
    result = AgentResult(
        exit_code=proc.exit_code, duration_s=proc.duration_s, reported=reported, extra=dict(extra or {})
    )
    if proc.timed_out:
        result.failure = "timeout"
        result.reason = f"no exit within {timeout_s:g}s; its process group was killed"
    elif proc.exit_code != 0:
        result.failure = "agent_crash"
        code = proc.exit_code
        if code is not None and code < 0:
            what = f"killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else f"signal {-code}"
        else:
            what = f"exit {code}"
        detail = crash or crash_reason(proc.tail("stderr")) or crash_reason(proc.tail("stdout"))
        result.reason = f"{what}: {detail}" if detail else what
    elif crash:
        result.failure = "agent_crash"
        result.reason = crash
    return result


def report_mismatch(agent: str, reported: dict | None, ledger_prompt: int, ledger_completion: int,
                    *, tolerance: float = 0.25, slack_tokens: int = 500) -> str | None:
    """One line when the agent's own token report and the router's ledger disagree by more than
    ``tolerance`` (and ``slack_tokens``), else None. Agents count differently (aider estimates
    prompt tokens itself, opencode leaves its title call out), hence the slack; a large gap
    means calls bypassed the router or were lost."""
    if not reported:
        return None
    gaps = []
    for kind, ledger in (("prompt", ledger_prompt), ("completion", ledger_completion)):
        own = int(reported.get(f"{kind}_tokens") or 0)
        if abs(own - ledger) > max(tolerance * ledger, slack_tokens):
            gaps.append(f"{own:,} {kind} tokens vs {ledger:,} in the router ledger")
    return f"{agent} reports {'; '.join(gaps)}" if gaps else None

"""Run an agent as a subprocess: own process group, stdin closed, hard timeout that kills the
whole group, stdout/stderr kept in files. Every such process runs in the sandbox the adapter is
handed (``ctx.sandbox``, passed as ``run_process(..., sandbox=ctx.sandbox)``): in a cell, the
kind ``sandbox.agents`` names with the workspace, its private HOME and its logs writable, its own
install and the system read-only, and the router as its only network peer (see
``pytest_arena.sandbox``). Then read what it left: ``agent_result`` classifies the exit (timeout /
agent_crash / finished), ``json_lines`` reads event output, and ``report_mismatch`` compares the
agent's own token report with the router's ledger."""
from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_arena.agents.base import AgentResult, AgentSandbox
from pytest_arena.errors import ArenaError
from pytest_arena.sandbox import leftovers
from pytest_arena.sandbox.run import SYSTEM_PATHS, Limits, SandboxStartError, run_sandboxed

# Processes (and threads) an agent's sandbox may hold at once: node runtimes and language
# servers use dozens of threads each.
AGENT_MAX_PROCS = 4096
LOG_READ_BYTES = 32 << 20  # what an adapter parses of a log: its end
LOG_KEEP_BYTES = 16 << 20  # what a cell keeps of each log on disk: its end (a note says what was cut)
# Outside a cell (an adapter's own tests, a benchmark): a plain process group, no walls, no caps.
UNSANDBOXED = AgentSandbox(kind="none")


class AgentSandboxError(ArenaError):
    """The agent sandbox could not start (infrastructure, not the agent), or a process was
    started without one."""


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


def run_process(
    cmd: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    log_dir: Path,
    name: str = "agent",
    sandbox: AgentSandbox | None = None,
) -> ProcessResult:
    """Run ``cmd`` in ``sandbox`` (an adapter passes ``ctx.sandbox``), its output kept in
    ``log_dir/<name>.stdout.log`` and ``.stderr.log``. Without a sandbox nothing runs: an adapter
    that forgets to pass one must not start the agent on the host (AgentSandboxError, the cell's
    infra_error, names the fix)."""
    if sandbox is None:
        raise AgentSandboxError(
            f"run_process({cmd[0] if cmd else ''!r}, ...) was given no sandbox: an agent adapter passes "
            "sandbox=ctx.sandbox (the cell's agent sandbox); outside a cell, sandbox=UNSANDBOXED "
            "(pytest_arena.agents.process) runs it as a plain subprocess")
    log_dir.mkdir(parents=True, exist_ok=True)
    if sandbox.path:  # the task's test commands (cell/agent_tools.py) come first
        env = {**env, "PATH": os.pathsep.join([*map(str, sandbox.path), env.get("PATH", "/usr/bin:/bin")])}
    out_path = log_dir / f"{name}.stdout.log"
    err_path = log_dir / f"{name}.stderr.log"
    try:
        result = run_sandboxed(
            cmd, workdir=cwd, env=env, kind=sandbox.kind,
            limits=Limits(wall_s=timeout_s, memory_mb=None, max_procs=AGENT_MAX_PROCS, file_bytes=sandbox.file_bytes),
            writable=(*sandbox.writable, log_dir), readonly=sandbox.readonly, router=sandbox.router,
            stdout_path=out_path, stderr_path=err_path, harness_env=False)
    except SandboxStartError as exc:
        raise AgentSandboxError(f"the agent sandbox could not start: {exc}") from None
    for path in (out_path, err_path):
        leftovers.keep_tail(path, LOG_KEEP_BYTES)
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


def json_lines(text: str) -> Iterator[dict[str, Any]]:
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
    reported: dict[str, Any] | None = None,
    crash: str | None = None,
    extra: dict[str, Any] | None = None,
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


def report_mismatch(agent: str, reported: dict[str, Any] | None, ledger_prompt: int, ledger_completion: int,
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

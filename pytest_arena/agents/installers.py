"""Pinned, isolated installs of the real agents, and the run loop they share.

Each agent lives in one venv (pip) or npm prefix under ``install_root/<agent>/`` with a marker
file that records what was installed. The marker is written last, so a half-finished install is
never taken for a finished one; a re-run with the same pin skips; a different pin (or a missing
binary) wipes the folder first.

``InstalledAgent`` gives the six real adapters ``version`` / ``install`` / ``install_command``
from one ``PinnedPackage`` and a ``run`` that executes the adapter's ``prepare`` steps with
``run_process`` and reads the agent's own report with ``read_report``.
"""
from __future__ import annotations

import abc
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pytest_arena.agents.base import AgentAdapter, AgentResult, AgentRunContext
from pytest_arena.agents.process import ProcessResult, agent_result, run_process
from pytest_arena.errors import AgentNotInstalled, ArenaError
from pytest_arena.paths import default_install_root
from pytest_arena.router.contracts import RunEndpoints

MARKER_NAME = ".arena-install.json"
INSTALL_STEP_TIMEOUT_S = 1800.0
HEARTBEAT_S = 15.0  # a long install step says it is still running this often


class InstallError(ArenaError):
    """An install step failed; the message says which step and shows the tail of its output."""


@dataclass(frozen=True)
class PinnedPackage:
    manager: Literal["pip", "npm"]
    package: str  # registry name, e.g. "aider-chat" or "@openai/codex"
    version: str
    binary: str  # the executable the adapter runs, e.g. "aider"

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}" if self.manager == "pip" else f"{self.package}@{self.version}"

    def binary_path(self, agent_dir: Path) -> Path:
        if self.manager == "pip":
            return agent_dir / "venv" / "bin" / self.binary
        return agent_dir / "node_modules" / ".bin" / self.binary


def read_marker(agent_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((agent_dir / MARKER_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def directory_size(path: Path) -> int:
    """Bytes on disk below ``path`` (symlinks not followed, hard links counted once)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def run_install_step(cmd: list[str], *, what: str, log: Callable[[str], None], cwd: Path) -> None:
    """Run one install step; a line when it starts, every HEARTBEAT_S while it runs (a pip or npm
    install can take minutes in silence) and when it ends, each with its elapsed time."""
    start = time.monotonic()
    log(f"{what} ...")
    # The user's own npm/pip configuration applies (registry mirror, proxy, cache).
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=HEARTBEAT_S)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() - start > INSTALL_STEP_TIMEOUT_S:
                proc.kill()
                proc.communicate()
                raise InstallError(
                    f"{what} did not finish within {INSTALL_STEP_TIMEOUT_S:.0f}s: {' '.join(cmd)}. "
                    "Check the registry connection and re-run."
                ) from None
            log(f"{what}: still running ({time.monotonic() - start:.0f}s)")
    if proc.returncode != 0:
        tail = (stderr.strip() or stdout.strip())[-1500:]
        raise InstallError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    log(f"{what} ({time.monotonic() - start:.1f}s)")


def install_pinned(name: str, pinned: PinnedPackage, install_root: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """Install ``pinned`` into ``install_root/name``; returns the marker (skips when present)."""
    agent_dir = install_root / name
    marker = read_marker(agent_dir)
    if marker and marker.get("version") == pinned.version and pinned.binary_path(agent_dir).exists():
        log(f"{name}: {pinned.spec} already installed in {agent_dir}, skipping")
        return marker
    if agent_dir.exists():
        log(f"{name}: removing incomplete or outdated install in {agent_dir}")
        shutil.rmtree(agent_dir)
    agent_dir.mkdir(parents=True)
    start = time.monotonic()
    if pinned.manager == "pip":
        venv = agent_dir / "venv"
        run_install_step([sys.executable, "-m", "venv", str(venv)], what=f"{name}: create venv", log=log, cwd=agent_dir)
        run_install_step(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
             "--no-input", pinned.spec],
            what=f"{name}: pip install {pinned.spec}", log=log, cwd=agent_dir,
        )
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise InstallError(f"{name}: npm is not on PATH. Install Node.js 20+ and npm, then re-run.")
        run_install_step(
            [npm, "install", "--prefix", str(agent_dir), "--no-audit", "--no-fund", "--save-exact",
             pinned.spec],
            what=f"{name}: npm install {pinned.spec}", log=log, cwd=agent_dir,
        )
    if not pinned.binary_path(agent_dir).exists():
        raise InstallError(f"{name}: installed {pinned.spec} but {pinned.binary_path(agent_dir)} is missing")
    marker = {
        "agent": name,
        "package": pinned.package,
        "version": pinned.version,
        "manager": pinned.manager,
        "install_s": round(time.monotonic() - start, 1),
        "size_bytes": directory_size(agent_dir),
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = agent_dir / (MARKER_NAME + ".tmp")
    tmp.write_text(json.dumps(marker, indent=2) + "\n", "utf-8")
    tmp.replace(agent_dir / MARKER_NAME)
    log(f"{name}: installed {pinned.spec} in {marker['install_s']}s, {marker['size_bytes'] / 1e6:.0f} MB")
    return marker


def cell_endpoints(ctx: AgentRunContext) -> RunEndpoints:
    if ctx.endpoints is None:
        raise ValueError("an LLM agent needs run-scoped router endpoints (ctx.endpoints is None)")
    return ctx.endpoints


@dataclass
class Invocation:
    """One process an adapter runs for a cell; the last one of a cell is the agent itself."""

    name: str  # log file stem: <log_dir>/<name>.stdout.log
    argv: list[str]
    env: dict[str, str]
    timeout_s: float | None = None  # None: whatever is left of the cell's timeout


class InstalledAgent(AgentAdapter):
    """An agent that runs from its own pinned install under ``install_root/<name>``."""

    pinned: ClassVar[PinnedPackage]

    @abc.abstractmethod
    def prepare(self, ctx: AgentRunContext) -> list[Invocation]:
        """Write the cell's config files (inside ctx.home / ctx.log_dir only) and return the
        processes to run, in order."""

    @abc.abstractmethod
    def read_report(self, ctx: AgentRunContext, proc: ProcessResult) -> tuple[dict[str, Any] | None, str | None]:
        """The agent's own usage report (or None) and a crash signature (or None)."""

    def run(self, ctx: AgentRunContext) -> AgentResult:
        steps = self.prepare(ctx)
        start = time.monotonic()
        for step in steps:
            left = ctx.timeout_s - (time.monotonic() - start)
            timeout = left if step.timeout_s is None else min(step.timeout_s, left)
            proc = run_process(step.argv, cwd=ctx.workspace, env=step.env, timeout_s=max(timeout, 0.1),
                               log_dir=ctx.log_dir, name=step.name, sandbox=ctx.sandbox)
            if step is not steps[-1] and (proc.timed_out or proc.exit_code != 0):
                result = agent_result(proc, timeout_s=timeout)
                result.reason = f"{step.name}: {result.reason}"
                result.duration_s = time.monotonic() - start
                return result
        try:
            reported, crash = self.read_report(ctx, proc)
            problem = None
        except Exception as exc:  # noqa: BLE001 - a report we cannot read is not a failed run
            reported, crash, problem = None, None, f"{type(exc).__name__}: {exc}"
        result = agent_result(proc, timeout_s=ctx.timeout_s, reported=reported, crash=crash)
        if problem:
            result.extra["report_error"] = problem
        result.duration_s = time.monotonic() - start
        return result

    def agent_dir(self, install_root: Path) -> Path:
        return install_root / self.name

    def sandbox_paths(self, install_root: Path) -> list[Path]:
        return [self.agent_dir(install_root)]

    def binary(self, install_root: Path) -> Path:
        return self.pinned.binary_path(self.agent_dir(install_root))

    def version(self, install_root: Path) -> str | None:
        # Called at collection for every cell: one small file read, no subprocess.
        marker = read_marker(self.agent_dir(install_root))
        if not marker or not marker.get("version") or not self.binary(install_root).exists():
            return None
        return str(marker["version"])

    def install_command(self, install_root: Path) -> str:
        command = f"python -m pytest_arena setup --agents {self.name}"
        if install_root != default_install_root():
            command += f" --root {install_root}"
        return command

    def install(self, install_root: Path, log: Callable[[str], None]) -> None:
        install_pinned(self.name, self.pinned, install_root, log)

    def executable(self, install_root: Path) -> str:
        """The agent's binary; a missing install raises one message with the fix."""
        if self.version(install_root) is None:
            raise AgentNotInstalled(
                f"{self.name} is not installed in {install_root}. Install it with: "
                f"{self.install_command(install_root)}"
            )
        return str(self.binary(install_root))

"""The kinds without walls: ``subprocess`` and ``none``.

- ``subprocess``: a plain child process under the launcher's caps (memory, processes, file size,
  wall time): the last fallback for acceptance tests, with a loud warning
  (``run.fallback_warning``);
- ``none``: what ``sandbox.agents: none`` asks for. The agent's processes run exactly as the
  adapter starts them (its environment as given, no caps), in their own process group: stdin
  closed, SIGTERM then SIGKILL to the whole group at the end. Each such row says so and the
  reports mark it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from pytest_arena.sandbox.base import Availability, BoxBase, BoxSpec, Guarantees, Limits, SandboxResult
from pytest_arena.sandbox.launcher import PrefixKind, killed_reason, minimal_environment, open_output, tail

__all__ = ["NoneKind", "SubprocessKind", "kill_process_group"]


class SubprocessKind(PrefixKind):
    name = "subprocess"
    title = "a plain subprocess"
    guarantees: ClassVar[Guarantees] = Guarantees(files="absent", network="absent", router_link="absent",
                                                  memory="soft", processes="soft", wall_time="soft")

    def prefix(self, spec: BoxSpec, limits: Limits) -> list[str]:
        return []

    def available(self) -> Availability:
        return Availability(True)  # nothing to install, nothing to probe


class NoneKind:
    name = "none"
    title = "no sandbox"
    install_hint = ""
    guarantees = Guarantees(files="absent", network="absent", router_link="absent",
                            memory="absent", processes="absent", wall_time="soft")

    def available(self) -> Availability:
        return Availability(True)

    def version(self) -> str | None:
        return None

    def open(self, spec: BoxSpec) -> NoneBox:
        return NoneBox(spec)


class NoneBox(BoxBase):
    def __init__(self, spec: BoxSpec):
        self.spec = spec

    def run(self, cmd: Sequence[str], limits: Limits, *, env: Mapping[str, str] | None = None,
            stdout_path: Path | None = None, stderr_path: Path | None = None) -> SandboxResult:
        """``cmd`` in the spec's workdir with ``env`` as given; only ``limits.wall_s`` applies."""
        workdir = self.spec.workdir
        start = time.monotonic()
        with open_output(stdout_path) as out, open_output(stderr_path) as err:
            proc = subprocess.Popen(
                list(cmd),
                cwd=workdir,
                env=dict(env) if env is not None else minimal_environment(workdir, None),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # own process group, so a timeout kills every child
            )
            timed_out = False
            try:
                proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                # Kill the group even after a clean exit: agents leave language servers behind.
                kill_process_group(proc)
            stdout, stderr = tail(out), tail(err)
        return SandboxResult(exit_code=proc.returncode, timed_out=timed_out,
                             killed_reason=killed_reason(timed_out, proc.returncode, limits),
                             duration_s=time.monotonic() - start, stdout=stdout, stderr=stderr, kind=NoneKind.name)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def kill_process_group(proc: subprocess.Popen[bytes], grace_s: float = 2.0) -> None:
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

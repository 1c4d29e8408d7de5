"""The host-side watchdog of the ``seatbelt`` kind: the caps Seatbelt cannot give.

Why it exists: a Seatbelt profile walls off files and the network, but it has no memory cap, no
process count and no way to end a process that leaves the box; macOS also refuses
``RLIMIT_AS`` and has no cgroups or pid namespaces. So the host watches the command from the
outside, with nothing but ``/bin/ps`` (on macOS and Linux alike, no psutil):

- every ``interval_s`` (``SLOW_INTERVAL_S`` after the first ``SLOW_AFTER_S``: one ``ps`` costs
  some 10-50 ms of CPU) it lists the processes (pid, parent, process group, resident memory, start
  time) and takes the command's as those of its process group, their descendants, and every
  process it has seen as one of them before (a child that called ``setsid`` stays known);
- more than ``Limits.max_procs`` of them, or more than ``Limits.memory_mb`` resident between
  them: it kills them all (SIGKILL) and the run's ``killed_reason`` says which cap;
- at the end (``stop``) it kills what it has seen that still runs, so a detached child it saw
  does not outlive the box.

All three are *soft*: a process born and detached between two looks is never seen, memory is
sampled, not capped at allocation. Wall time stays the launcher's (the whole group is killed).
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from pytest_arena.sandbox.base import Limits

__all__ = ["INTERVAL_S", "SLOW_AFTER_S", "SLOW_INTERVAL_S", "ProcessTable", "Row", "Watchdog", "parse_ps",
           "process_table"]

_log = logging.getLogger(__name__)

INTERVAL_S = 0.25
SLOW_AFTER_S = 5.0
SLOW_INTERVAL_S = 1.0
_PS_FIELDS = "pid=,ppid=,pgid=,rss=,lstart="


@dataclass(frozen=True)
class Row:
    pid: int
    ppid: int
    pgid: int
    rss_kib: int
    started: str  # ps's start time: with the pid, tells a process from a later one given the same pid


ProcessTable = dict[int, Row]


def process_table(ps: str | None = None) -> ProcessTable | None:
    """Every process of this machine, as ``ps -A`` lists it; None when ps cannot run."""
    exe = ps or shutil.which("ps") or "/bin/ps"
    try:
        out = subprocess.run([exe, "-A", "-o", _PS_FIELDS], capture_output=True, text=True, timeout=10,
                             env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_ps(out)


def parse_ps(out: str) -> ProcessTable:
    """The rows of ``ps -A -o pid=,ppid=,pgid=,rss=,lstart=`` (lines it cannot read are skipped)."""
    table: ProcessTable = {}
    for line in out.splitlines():
        parts = line.split(None, 4)
        if len(parts) < 5:
            continue
        try:
            pid, ppid, pgid, rss = (int(p) for p in parts[:4])
        except ValueError:
            continue
        table[pid] = Row(pid=pid, ppid=ppid, pgid=pgid, rss_kib=rss, started=" ".join(parts[4].split()))
    return table


class Watchdog:
    """Watches the process group led by ``pid`` (see the module docstring); ``stop`` ends it."""

    def __init__(self, pid: int, limits: Limits, *, interval_s: float = INTERVAL_S, ps: str | None = None):
        self.pid = pid
        self.limits = limits
        self.interval_s = interval_s
        self.ps = ps
        self.breach: str | None = None
        self.peak_processes = 0
        self.peak_rss_kib = 0
        self._known: dict[int, str] = {}  # pid -> start time of every process seen as the command's
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"arena-watchdog-{pid}", daemon=True)
        self._thread.start()

    def members(self, table: ProcessTable, *, group: bool = True) -> list[Row]:
        """The command's processes in ``table``: its process group (unless ``group`` is False: once
        the command is over, its group id may be reused), any process seen before (same pid and
        start time), and their descendants."""
        with self._lock:
            known = dict(self._known)
        found = {p for p, row in table.items() if (group and row.pgid == self.pid) or known.get(p) == row.started}
        grew = True
        while grew:
            children = {p for p, row in table.items() if row.ppid in found and p not in found}
            found |= children
            grew = bool(children)
        return [table[p] for p in sorted(found)]

    def look(self) -> list[Row] | None:
        """One look: the command's processes now (remembered), or None when ps cannot run."""
        table = process_table(self.ps)
        if table is None:
            return None
        rows = self.members(table)
        with self._lock:
            for row in rows:
                self._known[row.pid] = row.started
        return rows

    def _loop(self) -> None:
        warned = False
        slow_at = time.monotonic() + SLOW_AFTER_S
        while not self._stopping.is_set():
            rows = self.look()
            if rows is None:
                if not warned:
                    _log.warning("seatbelt watchdog: ps cannot run here; memory and process caps are not held")
                    warned = True
            elif self.breach is None:
                self._check(rows)
            self._stopping.wait(self.interval_s if time.monotonic() < slow_at else max(self.interval_s,
                                                                                        SLOW_INTERVAL_S))

    def _check(self, rows: list[Row]) -> None:
        count, rss = len(rows), sum(r.rss_kib for r in rows)
        self.peak_processes = max(self.peak_processes, count)
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        limits = self.limits
        if count > limits.max_procs:
            self.breach = f"process cap {limits.max_procs} exceeded ({count} processes; host watchdog)"
        elif limits.memory_mb is not None and rss > limits.memory_mb * 1024:
            self.breach = (f"memory cap {limits.memory_mb} MB exceeded ({rss // 1024} MB resident across "
                           f"{count} process{'es' if count != 1 else ''}; host watchdog)")
        if self.breach:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._kill(rows)

    @staticmethod
    def _kill(rows: list[Row]) -> None:
        for row in rows:
            if row.pid == os.getpid():
                continue
            try:
                os.kill(row.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self) -> str | None:
        """Stop watching; kill every process seen as the command's that still runs (same pid, same
        start time). Returns the cap the command broke, or None."""
        self._stopping.set()
        self._thread.join(timeout=15)
        table = process_table(self.ps)
        if table is not None:
            self._kill(self.members(table, group=False))
        return self.breach

"""The process-count cap when we run as root: a fresh ``pids`` cgroup per sandboxed run.

The kernel ignores ``RLIMIT_NPROC`` for uid 0 (even a uid mapped to 0 from a user namespace), so
as root the launcher's rlimit caps nothing; a ``pids`` cgroup caps the whole tree instead, and
kills it at the end of the run.
"""
from __future__ import annotations

import functools
import itertools
import logging
import os
import signal
import time
from pathlib import Path

__all__ = ["PidsCgroup", "pids_cgroup_parent"]

_log = logging.getLogger(__name__)


class PidsCgroup:
    """A fresh ``pids`` cgroup per run: the process-count cap when we run as root."""

    _serial = itertools.count()

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, max_procs: int) -> PidsCgroup | None:
        parent = pids_cgroup_parent()
        if parent is None:
            return None
        path = parent / f"pytest-arena-{os.getpid()}-{next(cls._serial)}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_procs))
            return cls(path)
        except OSError as exc:
            _log.warning("could not set up pids cgroup %s: %s", path, exc)
            return None

    def joining(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first moves itself into the cgroup, so nothing it starts
        can escape. (A preexec_fn would do the same but forces a slow fork of our process.)"""
        return ["/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', str(self.path / "cgroup.procs"),
                *argv]

    def kill_all(self) -> None:
        kill_file = self.path / "cgroup.kill"  # cgroup v2 kills the whole tree atomically
        if kill_file.exists():
            kill_file.write_text("1")
        for _ in range(200):  # v1: a forking tree may need several sweeps
            pids = (self.path / "cgroup.procs").read_text().split()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.001)

    def remove(self) -> None:
        for _ in range(200):  # rmdir fails with EBUSY until the killed processes are reaped
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.001)
        _log.warning("could not remove pids cgroup %s", self.path)


@functools.cache
def pids_cgroup_parent() -> Path | None:
    """Where we can create pids cgroups, only needed (and tried) when running as root."""
    if os.geteuid() != 0:
        return None
    candidates = [Path("/sys/fs/cgroup/pids")]  # cgroup v1
    v2_root = Path("/sys/fs/cgroup")
    try:
        if "pids" in (v2_root / "cgroup.subtree_control").read_text().split():
            candidates.append(v2_root)
    except OSError:
        pass
    for parent in candidates:
        probe = parent / f"pytest-arena-probe-{os.getpid()}"
        try:
            probe.mkdir()
            probe.rmdir()
            return parent
        except OSError:
            continue
    _log.warning(
        "Running as root without a writable pids cgroup: the kernel ignores RLIMIT_NPROC for "
        "root, so the process-count cap of sandboxed runs is NOT enforced. Run as a normal user "
        "or give this process a writable /sys/fs/cgroup."
    )
    return None

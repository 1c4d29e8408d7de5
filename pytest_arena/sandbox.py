"""Run one command in a sandbox with no network, a read-only filesystem outside its workdir, and
memory, process-count and wall-time caps.

Kinds, best first (detected once per process by actually starting each one):

- ``bwrap``: bubblewrap. Read-only bind of ``/``, the workdir (and ``writable`` paths) bound
  read-write, a private ``/tmp``, new user/pid/net/ipc/uts namespaces, no capabilities, killed
  with its parent. The pid namespace means no process outlives the run.
- ``unshare``: ``unshare --net`` (with ``--map-root-user`` when not root): no network, nothing else.
- ``subprocess``: a plain child process; logs a warning once.

Caps, for every kind:

- memory: ``RLIMIT_AS`` (allocations beyond it fail: Python raises ``MemoryError``);
- processes: ``RLIMIT_NPROC``, set *inside* the sandbox so that in bwrap's user namespace it
  counts only the sandbox's own processes. The kernel ignores it for uid 0 (even a uid mapped to
  0 from a user namespace), so when we run as root a ``pids`` cgroup caps the whole tree instead;
- wall time: the whole process group (and cgroup) is killed with SIGKILL.

The rlimits are applied by a tiny launcher (``python -I -S -c``) that runs first inside the
sandbox and then ``exec``s the command; it also tells us, through a pipe, that the sandbox started,
which is how a broken sandbox (infrastructure) is told apart from a failing command.
"""
from __future__ import annotations

import functools
import itertools
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

_log = logging.getLogger(__name__)

SANDBOX_KINDS = ("bwrap", "unshare", "subprocess")
TAIL_BYTES = 16 * 1024
_TRUNCATED = "[...truncated...]\n"


@dataclass
class Limits:
    wall_s: float
    memory_mb: int = 1024
    max_procs: int = 256  # processes (and threads) the command may have at once
    network: bool = False


@dataclass
class SandboxResult:
    exit_code: int | None  # negative: killed by that signal; None: never reaped
    timed_out: bool
    killed_reason: str | None  # e.g. "wall time 60 s exceeded", "killed by SIGKILL"
    duration_s: float
    stdout: str  # tail, at most TAIL_BYTES
    stderr: str  # tail, at most TAIL_BYTES


class SandboxStartError(RuntimeError):
    """The sandbox itself could not start: an infrastructure failure, not the command's."""


# Runs inside the sandbox before the command. argv: memory bytes, max new processes, the fd that
# reports "started", then the command. RLIMIT_NPROC counts every process of the uid (inside
# bwrap's namespaces: only the sandbox's), so the cap is "what already runs + max_procs".
_LAUNCHER = r"""
import os, resource, sys
memory, procs, started_fd = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
limits = [(resource.RLIMIT_AS, memory), (resource.RLIMIT_CORE, 0)]
try:
    uid, running = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                running += os.stat("/proc/" + name).st_uid == uid
            except OSError:
                pass
    limits.append((resource.RLIMIT_NPROC, running + procs))
except OSError:  # no /proc (not Linux): cannot count, so no process cap
    pass
for which, value in limits:
    hard = resource.getrlimit(which)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, value))
os.write(started_fd, b"1")
os.close(started_fd)
os.execvp(sys.argv[4], sys.argv[4:])
"""


@functools.cache
def sandbox_kind() -> str:
    """The best sandbox kind that works on this machine, detected once by starting each."""
    for kind in ("bwrap", "unshare"):
        if shutil.which(kind) and _starts(kind):
            return kind
    _log.warning(
        "No sandbox available (bwrap and 'unshare --net' both failed): acceptance tests run as a "
        "plain subprocess with memory/process/time caps but network and filesystem NOT isolated. "
        "Install bubblewrap (apt install bubblewrap) to isolate them."
    )
    return "subprocess"


def _starts(kind: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="arena-sandbox-probe-") as probe:
        try:
            result = _run(kind, [sys.executable, "-I", "-S", "-c", "pass"], workdir=Path(probe),
                          limits=Limits(wall_s=20), env=None, writable=(), hidden=())
        except SandboxStartError as exc:
            _log.debug("sandbox kind %s does not start here: %s", kind, exc)
            return False
    return result.exit_code == 0


def run_sandboxed(
    cmd: list[str],
    *,
    workdir: Path,
    limits: Limits,
    env: dict[str, str] | None = None,
    writable: Iterable[Path] = (),
    hidden: Iterable[Path] = (),
) -> SandboxResult:
    """Run ``cmd`` in ``workdir`` inside the best available sandbox.

    ``env`` adds to a minimal environment (PATH, HOME=workdir, LANG, TMPDIR); nothing else of
    ours leaks in. ``writable`` folders (which must exist) stay writable (this matters for bwrap
    only: the other kinds leave the whole filesystem writable).
    ``hidden`` paths appear empty inside bwrap (e.g. the task folder holding the reference
    solution). Raises SandboxStartError when the sandbox itself cannot start.
    """
    return _run(sandbox_kind(), cmd, workdir=Path(workdir), limits=limits, env=env,
                writable=tuple(writable), hidden=tuple(hidden))


def _run(kind: str, cmd: list[str], *, workdir: Path, limits: Limits, env: dict[str, str] | None,
         writable: tuple[Path, ...], hidden: tuple[Path, ...]) -> SandboxResult:
    workdir = workdir.resolve()
    prefix = _prefix(kind, workdir, limits, writable, hidden)
    started_read, started_write = os.pipe()
    cgroup = None
    start = time.monotonic()
    try:
        argv = prefix + [
            sys.executable, "-I", "-S", "-c", _LAUNCHER, str(limits.memory_mb * 1024 * 1024),
            str(limits.max_procs), str(started_write), *cmd,
        ]
        cgroup = _PidsCgroup.create(limits.max_procs)
        if cgroup:
            argv = cgroup.joining(argv)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    argv, cwd=workdir, env=_environment(workdir, env), stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, pass_fds=(started_write,), start_new_session=True,
                )
            except OSError as exc:
                raise SandboxStartError(f"{kind} sandbox could not start: {exc}") from exc
            finally:
                os.close(started_write)
            timed_out = not _wait(proc, limits.wall_s)
            _kill_everything(proc, cgroup)
            duration = time.monotonic() - start
            exit_code = _normalised_exit_code(kind, proc.returncode)
            stdout, stderr = _tail(out), _tail(err)
        os.set_blocking(started_read, False)
        try:
            started = os.read(started_read, 1) == b"1"
        except BlockingIOError:
            started = False
    finally:
        os.close(started_read)
        if cgroup:
            cgroup.remove()
    if not started:
        raise SandboxStartError(
            f"{kind} sandbox could not start (exit code {exit_code}): {stderr.strip()[-2000:]}"
        )
    if timed_out:
        killed_reason = f"wall time {limits.wall_s:g} s exceeded"
    elif exit_code is not None and exit_code < 0:
        killed_reason = f"killed by {_signal_name(-exit_code)}"
    else:
        killed_reason = None
    return SandboxResult(exit_code=exit_code, timed_out=timed_out, killed_reason=killed_reason,
                         duration_s=duration, stdout=stdout, stderr=stderr)


def _prefix(kind: str, workdir: Path, limits: Limits, writable: tuple[Path, ...],
            hidden: tuple[Path, ...]) -> list[str]:
    if kind == "bwrap":
        argv = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev",
                "--proc", "/proc", "--tmpfs", "/tmp"]
        exposed = [workdir, *(Path(p).resolve() for p in writable)]
        for path in (Path(p).resolve() for p in hidden):
            # Hiding a folder that holds the workdir would hide the workdir too.
            if path.is_dir() and not any(path == e or path in e.parents for e in exposed):
                argv += ["--tmpfs", str(path)]
        for path in exposed:
            argv += ["--bind", str(path), str(path)]
        argv += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--chdir", str(workdir)]
        if limits.network:
            argv.append("--share-net")
        return argv + ["--"]
    if kind == "unshare":
        if limits.network:
            return []
        map_root = [] if os.geteuid() == 0 else ["--map-root-user"]
        return [shutil.which("unshare") or "unshare", "--net", *map_root, "--"]
    if kind == "subprocess":
        return []
    raise ValueError(f"unknown sandbox kind {kind!r}; expected one of {SANDBOX_KINDS}")


def _environment(workdir: Path, extra: dict[str, str] | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
    }
    env.update(extra or {})
    return env


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _normalised_exit_code(kind: str, returncode: int | None) -> int | None:
    # bwrap reports a child killed by signal N as exit code 128 + N.
    if kind == "bwrap" and returncode is not None and 128 < returncode < 128 + 65:
        return -(returncode - 128)
    return returncode


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait for the process to exit; False on timeout. Popen.wait(timeout) polls with sleeps of up
    to 50 ms, a visible share of a short test run, so wait on a pidfd where the OS has one."""
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(proc.pid)
        except OSError:  # pragma: no cover - kernels before 5.3
            pass
        else:
            try:
                readable, _, _ = select.select([pidfd], [], [], timeout)
            finally:
                os.close(pidfd)
            if not readable:
                return False
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _kill_everything(proc: subprocess.Popen, cgroup: _PidsCgroup | None) -> None:
    """SIGKILL the process group (and the cgroup), also after a normal exit: no stray children."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if cgroup:
        cgroup.kill_all()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL'd process stuck in the kernel
        _log.warning("sandboxed process %d did not die after SIGKILL", proc.pid)


def _tail(stream: IO[bytes]) -> str:
    size = stream.seek(0, os.SEEK_END)
    if size <= TAIL_BYTES:
        stream.seek(0)
        return stream.read().decode("utf-8", "replace")
    keep = TAIL_BYTES - len(_TRUNCATED)
    stream.seek(size - keep)
    text = stream.read().decode("utf-8", "replace")
    while len(text.encode("utf-8")) > keep:  # replacement characters can widen the text
        text = text[1:]
    return _TRUNCATED + text


class _PidsCgroup:
    """A fresh ``pids`` cgroup per run: the process-count cap when we run as root."""

    _serial = itertools.count()

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, max_procs: int) -> _PidsCgroup | None:
        parent = _pids_cgroup_parent()
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
def _pids_cgroup_parent() -> Path | None:
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

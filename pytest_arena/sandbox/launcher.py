"""What the argv-prefix kinds share: a kind that is "this prefix before the command" (bubblewrap,
``unshare``, nothing at all) gets its caps, its start check and its output handling here.

Caps, for every such kind:

- memory: ``RLIMIT_AS`` (allocations beyond it fail: Python raises ``MemoryError``); ``None``
  for agents (JavaScript runtimes reserve far more address space than they use);
- processes: ``RLIMIT_NPROC``, set *inside* the sandbox so that in a user namespace it counts only
  the sandbox's own processes. The kernel ignores it for uid 0 (even a uid mapped to 0 from a user
  namespace), so when we run as root a ``pids`` cgroup caps the whole tree instead (cgroup.py);
- wall time: the whole process group (and cgroup) is killed with SIGKILL;
- file size: ``RLIMIT_FSIZE`` when ``Limits.file_bytes`` is set (a write past it fails with
  ``EFBIG``, or ``SIGXFSZ`` ends a program that does not ignore it): the largest file an agent or
  the code under test can leave, its logs included;
- not on Linux (macOS): no ``RLIMIT_AS`` (it fails with EINVAL; ``RLIMIT_DATA`` is set where it
  can be), no ``RLIMIT_NPROC`` (it would count every process of the user), no cgroup, no
  ``/proc``: a kind there holds memory and processes with a host-side ``watch`` (``PrefixKind.watch``)
  and states those caps as soft.

The rlimits are applied by a tiny launcher (the base interpreter, ``-I -S``) that runs first
inside the sandbox, starts the router forwarder when the kind asks for one, then ``exec``s the
command; it tells us through a pipe that the sandbox started, which is how a broken sandbox
(infrastructure) is told apart from a failing command.
"""
from __future__ import annotations

import abc
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

from pytest_arena.paths import base_python
from pytest_arena.sandbox.base import (
    Availability,
    BoxBase,
    BoxSpec,
    Guarantees,
    Limits,
    SandboxResult,
    SandboxStartError,
)
from pytest_arena.sandbox.cgroup import PidsCgroup

__all__ = [
    "MASKED_DIRS", "MASKED_FILES", "ROUTER_SOCKET",
    "SYSTEM_PATHS", "TAIL_BYTES", "PrefixBox", "PrefixKind", "ProcessWatch", "base_python", "inside",
    "interpreter_paths", "killed_reason", "minimal_environment", "open_output", "tail",
]

_log = logging.getLogger(__name__)

# Linux-only parts (pids cgroups, RLIMIT_AS, /proc) are used only where this holds: macOS has none
# of them (setrlimit(RLIMIT_AS) fails there with EINVAL).
_LINUX = sys.platform.startswith("linux")

TAIL_BYTES = 16 * 1024
_TRUNCATED = "[...truncated...]\n"
# The host's system, read-only. Anything else is invisible to a kind that walls off files unless a
# caller names it.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Secrets of the host inside /etc: replaced by an empty file or folder in every kind that shows /etc.
MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers",
                "/etc/machine-id")
MASKED_DIRS = ("/etc/ssh", "/etc/sudoers.d", "/etc/ssl/private")
# Where the router's Unix socket appears inside a sandbox that binds it (the forwarder relays to it).
ROUTER_SOCKET = "/run/arena/router.sock"

# Runs inside the sandbox before the command. argv: a JSON spec (memory bytes or null, max new
# processes, the fd that reports "started", the forwarder's port and socket or null), then the
# command. RLIMIT_NPROC counts every process of the uid (inside a user namespace: only the
# sandbox's), so the cap is "what already runs + max_procs". The forwarder is a grandchild
# (double fork), so the command never sees it as its own child; it dies with the pid namespace.
_LAUNCHER = r"""
import json, os, resource, sys
spec = json.loads(sys.argv[1])
forward = spec["forward"]
if forward:
    import socket, threading
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:
        if os.fork() != 0:
            os._exit(0)
        os.close(ready_r)
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", forward["port"]))
        server.listen(256)
        os.write(ready_w, b"1")
        os.close(ready_w)
        def pump(src, dst):
            try:
                while True:
                    data = src.recv(262144)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        def serve(client):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(forward["uds"])
            except OSError:
                client.close()
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
            back.start()
            pump(client, upstream)
            back.join()
            client.close()
            upstream.close()
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    os.close(ready_w)
    os.wait()
    if os.read(ready_r, 1) != b"1":
        sys.exit("arena sandbox: the router forwarder did not start")
    os.close(ready_r)
linux = sys.platform.startswith("linux")
# (limit, value, required): a required limit that cannot be set stops the start; the others are
# caps another part holds on this platform (the kind's watchdog), so their failure is skipped.
limits = [(resource.RLIMIT_CORE, 0, True)]
if spec["memory"]:
    # macOS refuses RLIMIT_AS (EINVAL): RLIMIT_DATA there, best effort.
    limits.append((resource.RLIMIT_AS if linux else resource.RLIMIT_DATA, spec["memory"], linux))
if spec.get("fsize"):
    limits.append((resource.RLIMIT_FSIZE, spec["fsize"], True))
if linux:  # elsewhere RLIMIT_NPROC counts all the user's processes and no /proc counts them
    try:
        uid, running = os.getuid(), 0
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    running += os.stat("/proc/" + name).st_uid == uid
                except OSError:
                    pass
        limits.append((resource.RLIMIT_NPROC, running + spec["procs"], True))
    except OSError:  # no /proc mounted: cannot count, so no process cap
        pass
for which, value, required in limits:
    try:
        hard = resource.getrlimit(which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))
    except (OSError, ValueError):
        if required:
            raise
os.write(spec["started_fd"], b"1")
os.close(spec["started_fd"])
os.execvp(sys.argv[2], sys.argv[2:])
"""


def interpreter_paths(harness_env: bool = True) -> list[Path]:
    """What running the base interpreter needs (its prefix), and with ``harness_env`` also what
    running ``sys.executable`` needs (the harness's virtual environment)."""
    paths = []
    prefixes = {sys.base_prefix, str(Path(base_python()).parent.parent)} | ({sys.prefix} if harness_env else set())
    for prefix in prefixes:
        path = Path(prefix).resolve()
        if path.is_dir() and str(path) not in SYSTEM_PATHS and not str(path).startswith("/usr/"):
            paths.append(path)
    return sorted(paths)


class ProcessWatch(Protocol):
    """A host-side watch over one command's processes, for caps its kind's prefix cannot hold."""

    def stop(self) -> str | None:
        """Stop watching and kill what it saw of the command that still runs; returns the cap the
        command broke (the reason it was killed), or None."""
        ...


class PrefixKind(abc.ABC):
    """A kind that runs ``prefix(spec, limits) + [launcher, command]``: it holds no state, so its
    box holds none either. Subclasses name the ``program`` that must be on PATH (None: none) and
    build the prefix; they may ask the launcher to ``forward`` 127.0.0.1:port to the router's
    socket, and read exit codes their own way."""

    name: ClassVar[str]
    title: ClassVar[str]
    guarantees: ClassVar[Guarantees]
    install_hint: ClassVar[str] = ""
    program: ClassVar[str | None] = None
    cannot_start: ClassVar[str] = "is installed but cannot start here"  # the reason a failed probe gives

    @abc.abstractmethod
    def prefix(self, spec: BoxSpec, limits: Limits) -> list[str]:
        """The argv before the launcher (``spec.workdir`` is resolved)."""

    def forward(self, spec: BoxSpec) -> dict[str, Any] | None:
        """``{"port": ..., "uds": ...}``: the launcher relays 127.0.0.1:port to the socket."""
        return None

    def exit_code(self, returncode: int | None) -> int | None:
        """The command's exit code as the prefix reports it, normalised (negative: a signal)."""
        return returncode

    def version(self) -> str | None:
        return None

    def watch(self, pid: int, limits: Limits) -> ProcessWatch | None:
        """Started right after the command (``pid`` leads its own process group), stopped when it
        is over: for the caps the prefix cannot enforce. None: the prefix and launcher hold them all."""
        return None

    def available(self) -> Availability:
        """Installed, and a bare interpreter starts in it."""
        if self.program and not shutil.which(self.program):
            return Availability(False, "is not installed")
        with tempfile.TemporaryDirectory(prefix="arena-sandbox-probe-") as probe:
            try:
                with self.open(BoxSpec(workdir=Path(probe))) as box:
                    result = box.run([base_python(), "-I", "-S", "-c", "pass"], Limits(wall_s=20))
            except SandboxStartError as exc:
                _log.debug("sandbox kind %s does not start here: %s", self.name, exc)
                return Availability(False, self.cannot_start)
        return Availability(True) if result.exit_code == 0 else Availability(False, self.cannot_start)

    def open(self, spec: BoxSpec) -> PrefixBox:
        return PrefixBox(self, spec)


class PrefixBox(BoxBase):
    """Runs each command as its kind's prefix + the launcher + the command."""

    def __init__(self, kind: PrefixKind, spec: BoxSpec):
        self.kind = kind
        self.spec = replace(spec, workdir=Path(spec.workdir).resolve())

    def run(self, cmd: Sequence[str], limits: Limits, *, env: Mapping[str, str] | None = None,
            stdout_path: Path | None = None, stderr_path: Path | None = None) -> SandboxResult:
        kind, workdir = self.kind, self.spec.workdir
        prefix = kind.prefix(self.spec, limits)
        started_read, started_write = os.pipe()
        cgroup = None
        start = time.monotonic()
        launch = {"memory": limits.memory_mb * 1024 * 1024 if limits.memory_mb else None,
                  "procs": limits.max_procs, "started_fd": started_write, "forward": kind.forward(self.spec),
                  "fsize": limits.file_bytes}
        try:
            argv = prefix + [base_python(), "-I", "-S", "-c", _LAUNCHER, json.dumps(launch), *cmd]
            cgroup = PidsCgroup.create(limits.max_procs) if _LINUX else None
            if cgroup:
                argv = cgroup.joining(argv)
            with open_output(stdout_path) as out, open_output(stderr_path) as err:
                try:
                    proc = subprocess.Popen(
                        argv, cwd=workdir, env=minimal_environment(workdir, env), stdin=subprocess.DEVNULL,
                        stdout=out, stderr=err, pass_fds=(started_write,), start_new_session=True,
                    )
                except OSError as exc:
                    raise SandboxStartError(f"{kind.name} sandbox could not start: {exc}") from exc
                finally:
                    os.close(started_write)
                watch = kind.watch(proc.pid, limits)
                try:
                    timed_out = not _wait(proc, limits.wall_s)
                    _kill_everything(proc, cgroup)
                finally:
                    breach = watch.stop() if watch else None
                duration = time.monotonic() - start
                exit_code = kind.exit_code(proc.returncode)
                stdout, stderr = tail(out), tail(err)
            started = _launcher_started(started_read)
        finally:
            os.close(started_read)
            if cgroup:
                cgroup.remove()
        if not started:
            raise SandboxStartError(
                f"{kind.name} sandbox could not start (exit code {exit_code}): {stderr.strip()[-2000:]}"
            )
        return SandboxResult(exit_code=exit_code, timed_out=timed_out,
                             killed_reason=breach or killed_reason(timed_out, exit_code, limits),
                             duration_s=duration, stdout=stdout, stderr=stderr, kind=kind.name)


def killed_reason(timed_out: bool, exit_code: int | None, limits: Limits) -> str | None:
    """What ended a command that did not end by itself: its wall time, or a signal."""
    if timed_out:
        return f"wall time {limits.wall_s:g} s exceeded"
    if exit_code is not None and exit_code < 0:
        return f"killed by {_signal_name(-exit_code)}"
    return None


def open_output(path: Path | None) -> IO[bytes]:
    """Where a command's output goes: a fresh file at ``path`` (never through a link or FIFO
    planted there), or an anonymous temporary file."""
    if path is None:
        return tempfile.TemporaryFile()
    from pytest_arena.sandbox.leftovers import open_fresh

    fresh: IO[bytes] = open_fresh(Path(path))
    return fresh



def minimal_environment(workdir: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    """PATH, HOME=workdir, LANG and TMPDIR, then ``extra``: nothing else of the harness's."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8" if _LINUX else "en_US.UTF-8",  # macOS has no C.UTF-8 locale before 13
        "TMPDIR": "/tmp",
    }
    env.update(extra or {})
    return env


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _launcher_started(started_read: int) -> bool:
    """Whether the launcher wrote its "started" byte to the pipe before the command ended (not
    blocking: a launcher that died before it wrote nothing)."""
    os.set_blocking(started_read, False)
    try:
        return os.read(started_read, 1) == b"1"
    except BlockingIOError:
        return False


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> bool:
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


def _kill_everything(proc: subprocess.Popen[bytes], cgroup: PidsCgroup | None) -> None:
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


def tail(stream: IO[bytes]) -> str:
    """The last TAIL_BYTES of a command's output, decoded, marked when cut."""
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



def inside(path: Path, folders: Iterable[Path]) -> bool:
    """``path`` is one of ``folders`` or below one."""
    return any(path == f or f in path.parents for f in folders)

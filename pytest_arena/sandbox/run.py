"""Run one command in a sandbox: a whitelist of read-only system paths, its workdir (and named
paths) writable, a private /tmp and /proc, no network (or only the router, through a socket),
and memory, process-count and wall-time caps. Agents and acceptance tests both run here.

Kinds, best first (detected once per process by actually starting each one):

- ``bwrap``: bubblewrap. Nothing of the host is visible but the system (``/usr``, ``/bin``,
  ``/lib*``, ``/sbin``, ``/etc`` without its secrets), the Python interpreter, and the paths the
  caller names (read-only or writable), each bound at its own path after a private ``/tmp``
  tmpfs (so paths under ``/tmp`` work too). New user/pid/net/ipc/uts/cgroup namespaces, no
  capabilities, its own ``/proc`` (no host process is visible), killed with its parent.
  With ``router=RouterLink(...)`` the network namespace still has no route out, but a small
  forwarder inside listens on ``127.0.0.1:<port>`` and relays to the router's Unix socket, bound
  into the sandbox: the command talks HTTP to the router and to nothing else.
- ``unshare``: ``unshare --net`` (with ``--map-root-user`` when not root): no network, nothing
  else. Only for acceptance tests, and only with a loud warning (see ``fallback_warning``).
- ``subprocess``: a plain child process, likewise.

Caps, for every kind:

- memory: ``RLIMIT_AS`` (allocations beyond it fail: Python raises ``MemoryError``); ``None``
  for agents (JavaScript runtimes reserve far more address space than they use);
- processes: ``RLIMIT_NPROC``, set *inside* the sandbox so that in bwrap's user namespace it
  counts only the sandbox's own processes. The kernel ignores it for uid 0 (even a uid mapped to
  0 from a user namespace), so when we run as root a ``pids`` cgroup caps the whole tree instead;
- wall time: the whole process group (and cgroup) is killed with SIGKILL;
- file size: ``RLIMIT_FSIZE`` when ``Limits.file_bytes`` is set (a write past it fails with
  ``EFBIG``, or ``SIGXFSZ`` ends a program that does not ignore it): the largest file an agent or
  the code under test can leave, its logs included.

The rlimits are applied by a tiny launcher (the base interpreter, ``-I -S``) that runs first
inside the sandbox, starts the router forwarder when asked, then ``exec``s the command; it tells
us through a pipe that the sandbox started, which is how a broken sandbox (infrastructure) is
told apart from a failing command.
"""
from __future__ import annotations

import functools
import itertools
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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

_log = logging.getLogger(__name__)

SANDBOX_KINDS = ("bwrap", "unshare", "subprocess")
TAIL_BYTES = 16 * 1024
_TRUNCATED = "[...truncated...]\n"
# The host's system, read-only. Anything else is invisible unless a caller names it.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Secrets of the host inside /etc: replaced by an empty file or folder.
MASKED_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers",
                "/etc/machine-id")
MASKED_DIRS = ("/etc/ssh", "/etc/sudoers.d", "/etc/ssl/private")
# Where the router's Unix socket appears inside a sandbox.
ROUTER_SOCKET = "/run/arena/router.sock"


@dataclass
class Limits:
    wall_s: float
    memory_mb: int | None = 1024  # None: no address-space cap
    max_procs: int = 256  # processes (and threads) the command may have at once
    network: bool = False
    file_bytes: int | None = None  # RLIMIT_FSIZE: the largest file the command can write (None: no cap)


@dataclass(frozen=True)
class RouterLink:
    """The one network path of a sandboxed agent: 127.0.0.1:``port`` inside relays to ``uds_path``."""

    uds_path: str  # the router's Unix socket on the host
    port: int  # the port the command dials inside (the router's own TCP port: URLs stay valid)


@dataclass
class SandboxResult:
    exit_code: int | None  # negative: killed by that signal; None: never reaped
    timed_out: bool
    killed_reason: str | None  # e.g. "wall time 60 s exceeded", "killed by SIGKILL"
    duration_s: float
    stdout: str  # tail, at most TAIL_BYTES
    stderr: str  # tail, at most TAIL_BYTES
    kind: str = "bwrap"  # the sandbox kind it ran in


class SandboxStartError(RuntimeError):
    """The sandbox itself could not start: an infrastructure failure, not the command's."""


# Runs inside the sandbox before the command. argv: a JSON spec (memory bytes or null, max new
# processes, the fd that reports "started", the forwarder's port and socket or null), then the
# command. RLIMIT_NPROC counts every process of the uid (inside bwrap's namespaces: only the
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
limits = [(resource.RLIMIT_CORE, 0)]
if spec["memory"]:
    limits.append((resource.RLIMIT_AS, spec["memory"]))
if spec.get("fsize"):
    limits.append((resource.RLIMIT_FSIZE, spec["fsize"]))
try:
    uid, running = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                running += os.stat("/proc/" + name).st_uid == uid
            except OSError:
                pass
    limits.append((resource.RLIMIT_NPROC, running + spec["procs"]))
except OSError:  # no /proc (not Linux): cannot count, so no process cap
    pass
for which, value in limits:
    hard = resource.getrlimit(which)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, value))
os.write(spec["started_fd"], b"1")
os.close(spec["started_fd"])
os.execvp(sys.argv[2], sys.argv[2:])
"""


def base_python() -> str:
    """The base interpreter (not a venv's): it needs nothing but its own prefix, which every
    sandbox binds read-only."""
    candidate = getattr(sys, "_base_executable", None) or sys.executable
    return str(Path(candidate).resolve()) if Path(candidate).exists() else sys.executable


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


@functools.cache
def sandbox_kind() -> str:
    """The best sandbox kind that works on this machine, detected once by starting each."""
    for kind in ("bwrap", "unshare"):
        if shutil.which(kind) and _starts(kind):
            return kind
    _log.warning(fallback_warning("subprocess"))
    return "subprocess"


def fallback_warning(kind: str) -> str:
    """The one line a session prints when scoring cannot use bubblewrap."""
    isolation = ("network isolated, filesystem NOT isolated" if kind == "unshare"
                 else "network and filesystem NOT isolated")
    return (f"scoring sandbox: {kind} ({isolation}): bubblewrap is missing or cannot start here. "
            f"Install it (apt-get install bubblewrap); rows record sandbox.scoring={kind!r}.")


def bwrap_version() -> str | None:
    exe = shutil.which("bwrap")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().split()[-1] if out.strip() else "unknown"


def _starts(kind: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="arena-sandbox-probe-") as probe:
        try:
            result = _run(kind, [base_python(), "-I", "-S", "-c", "pass"], workdir=Path(probe),
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
    readonly: Iterable[Path] = (),
    hidden: Iterable[Path] = (),
    router: RouterLink | None = None,
    kind: str | None = None,
    stdout_path: Path | None = None,
    stderr_path: Path | None = None,
    harness_env: bool = True,
) -> SandboxResult:
    """Run ``cmd`` in ``workdir`` inside the best available sandbox (or ``kind``).

    ``env`` adds to a minimal environment (PATH, HOME=workdir, LANG, TMPDIR); nothing else of
    ours leaks in. ``writable`` folders (which must exist) are bound read-write and ``readonly``
    paths read-only, each at its own path; with bwrap nothing else of the host is visible but the
    system and the interpreter. ``hidden`` paths appear empty even when a bound path holds them.
    ``router`` gives the command its one network path (bwrap only). ``stdout_path`` and
    ``stderr_path`` keep the whole output in files (the result still carries the tails).
    ``harness_env=False`` leaves the harness's own virtual environment out (agents never see it).
    Raises SandboxStartError when the sandbox itself cannot start.
    """
    kind = kind or sandbox_kind()
    if router is not None and kind != "bwrap" and kind != "subprocess":
        raise SandboxStartError(f"a router link needs bwrap, not {kind}")
    return _run(kind, cmd, workdir=Path(workdir), limits=limits, env=env,
                writable=tuple(writable), readonly=tuple(readonly), hidden=tuple(hidden),
                router=router, stdout_path=stdout_path, stderr_path=stderr_path, harness_env=harness_env)


def _open_output(path: Path | None):
    if path is None:
        return tempfile.TemporaryFile()
    from pytest_arena.sandbox.leftovers import open_fresh  # a fresh file: never through a link or FIFO planted at the path

    return open_fresh(Path(path))


def _run(kind: str, cmd: list[str], *, workdir: Path, limits: Limits, env: dict[str, str] | None,
         writable: tuple[Path, ...], hidden: tuple[Path, ...], readonly: tuple[Path, ...] = (),
         router: RouterLink | None = None, stdout_path: Path | None = None,
         stderr_path: Path | None = None, harness_env: bool = True) -> SandboxResult:
    workdir = workdir.resolve()
    prefix = _prefix(kind, workdir, limits, writable, hidden, readonly, router, harness_env)
    started_read, started_write = os.pipe()
    cgroup = None
    start = time.monotonic()
    forward = None
    if router is not None and kind == "bwrap":
        forward = {"port": router.port, "uds": ROUTER_SOCKET}
    spec = {"memory": limits.memory_mb * 1024 * 1024 if limits.memory_mb else None,
            "procs": limits.max_procs, "started_fd": started_write, "forward": forward,
            "fsize": limits.file_bytes}
    try:
        argv = prefix + [base_python(), "-I", "-S", "-c", _LAUNCHER, json.dumps(spec), *cmd]
        cgroup = _PidsCgroup.create(limits.max_procs)
        if cgroup:
            argv = cgroup.joining(argv)
        with _open_output(stdout_path) as out, _open_output(stderr_path) as err:
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
                         duration_s=duration, stdout=stdout, stderr=stderr, kind=kind)


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def _prefix(kind: str, workdir: Path, limits: Limits, writable: tuple[Path, ...],
            hidden: tuple[Path, ...], readonly: tuple[Path, ...] = (),
            router: RouterLink | None = None, harness_env: bool = True) -> list[str]:
    if kind == "bwrap":
        argv = [shutil.which("bwrap") or "bwrap", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc",
                "--dir", "/var/tmp", "--dir", "/run"]
        for path in SYSTEM_PATHS:
            if os.path.islink(path):  # merged /usr: /bin -> usr/bin
                argv += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                argv += ["--ro-bind", path, path]
        for path in MASKED_FILES:
            if os.path.isfile(path):
                argv += ["--ro-bind", "/dev/null", path]
        for path in MASKED_DIRS:
            if os.path.isdir(path):
                argv += ["--tmpfs", path, "--remount-ro", path]
        shown_ro = [*interpreter_paths(harness_env), *(Path(p).resolve() for p in readonly)]
        shown_rw = [workdir, *(Path(p).resolve() for p in writable)]
        # Parents before children, so that a writable folder inside a read-only one stays writable.
        for path, flag in sorted([(p, "--ro-bind") for p in shown_ro] + [(p, "--bind") for p in shown_rw],
                                 key=lambda item: len(item[0].parts)):
            if path.exists():
                argv += [flag, str(path), str(path)]
        for path in (Path(p).resolve() for p in hidden):
            if path.is_dir() and _inside(path, shown_ro + shown_rw) and not any(
                    _inside(e, [path]) for e in shown_rw):
                argv += ["--tmpfs", str(path)]
        if router is not None:
            argv += ["--bind", router.uds_path, ROUTER_SOCKET]
        argv += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--hostname", "arena", "--chdir", str(workdir)]
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

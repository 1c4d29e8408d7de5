"""The ``container`` kind: each box is one podman container, its caps enforced by the kernel's
cgroups for everything the commands start.

A box starts its container with its first command (the caps are a container's: memory and
process count for the whole tree, and the network, are set when it starts; a later command asking
for other caps gets a fresh container), runs every command in it with ``podman exec``, and removes
it on ``close``. Starting and removing a container cost a few tenths of a second each, an exec
about a quarter (benchmarks/sandbox_kinds.py): holding the container between commands is what the
box is for.

What a command sees is what bubblewrap shows (container_image.py says why): the host's system
read-only, ``/etc`` with its secrets masked, the interpreter, the paths the spec names (read-only,
or writable: the workdir and ``writable``), ``hidden`` paths as empty tmpfs, and a private
``/tmp``; the root is read-only, every capability dropped, no new privileges. Caps:

- memory: ``--memory`` with ``--memory-swap`` equal (no swap), for the whole container (a small
  allowance above ``Limits.memory_mb`` for its idle init); the launcher's ``RLIMIT_AS`` still
  applies per process, so a single Python allocation fails with ``MemoryError`` first;
- processes: ``--pids-limit`` (a pids cgroup: it holds for root too);
- wall time: at the end of every command, timed out or not, every process of the container but
  its init is killed, from the host, through the container's cgroup (nothing the command started
  outlives it); when that cannot be done the container itself goes;
- network: ``--network none`` (loopback only). With a ``RouterLink`` the router's Unix socket is
  bound in and the launcher's forwarder (launcher.py, the code bubblewrap's runs use) relays
  ``127.0.0.1:<port>`` to it: the router is the one peer.

The container's init is a tiny reaper on the base interpreter; signals from inside cannot kill it
(the kernel protects a namespace's init). The command's environment is the minimal one, passed in
a file (``--env-file``) so that no value shows in the host's process list. Needs podman (docker
has no ``--rootfs``; docs/howto/run-in-containers.md) and the image ``setup --container-image``
builds.
"""
from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from pytest_arena.sandbox.base import (
    Availability,
    BoxBase,
    BoxSpec,
    Guarantees,
    Limits,
    SandboxResult,
    SandboxStartError,
)
from pytest_arena.sandbox.container_image import SETUP_COMMAND, build_rootfs, built_rootfs
from pytest_arena.sandbox.launcher import (
    _LAUNCHER,  # the rlimits and the router forwarder every kind's commands start under
    MASKED_DIRS,
    MASKED_FILES,
    ROUTER_SOCKET,
    SYSTEM_PATHS,
    _launcher_started,  # whether the launcher wrote its "started" byte
    _wait,  # a wait on the process's pidfd (Popen.wait with a timeout polls)
    base_python,
    inside,
    interpreter_paths,
    killed_reason,
    minimal_environment,
    open_output,
    tail,
)

__all__ = ["ENGINE", "LABEL", "ContainerBox", "ContainerKind", "build_image", "built_image", "leftover_containers"]

_log = logging.getLogger(__name__)

ENGINE = "podman"
LABEL = "pytest-arena.box"  # every container a box starts carries it (value: host name and pid of its owner)
_INIT_MEMORY_MB = 32  # the container's idle init, on top of the command's memory cap
# podman lowers its own RLIMIT_NPROC hard limit to this, and the runtime cannot raise a
# container's above what podman has; the pids cgroup is the real cap.
_NPROC_CEILING = 32768
_START_TIMEOUT_S = 120.0
_KILL_SWEEPS = 500
# The container's init (PID 1): reaps what the commands leave behind, nothing else. Signals sent
# from inside the container reach a namespace's init only for handlers it set: SIGCHLD here.
_REAPER = r"""
import os, signal
def reap(*_):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
signal.signal(signal.SIGCHLD, reap)
while True:
    signal.pause()
"""
# Runs on the host before `podman exec`: moves the "started" pipe to fd 3, the one
# `--preserve-fds 1` hands into the container (argv: the pipe's fd, then the exec argv).
_FD3 = "import os, sys\nfd = int(sys.argv[1])\nif fd != 3:\n    os.dup2(fd, 3)\n    os.close(fd)\n" \
       "os.execvp(sys.argv[2], sys.argv[2:])\n"
_live: set[str] = set()  # containers this process started and has not removed yet
_serial = itertools.count()


@dataclass(frozen=True)
class _Caps:
    """What a container is started with: a command asking for other caps needs another."""

    memory_mb: int | None
    max_procs: int
    network: bool


@dataclass
class _Container:
    name: str
    caps: _Caps
    init_pid: int  # the host's pid of the container's init
    procs: Path | None  # the container's cgroup.procs (host pids), None when it cannot be read


class ContainerKind:
    name = "container"
    title = "podman"
    guarantees: ClassVar[Guarantees] = Guarantees(files="hard", network="hard", router_link="hard",
                                                  memory="hard", processes="hard", wall_time="hard")
    _runtime: ClassVar[list[str] | None] = None  # the --runtime flag that starts containers here, once found

    @property
    def install_hint(self) -> str:
        if shutil.which(ENGINE) is None:
            return f"apt-get install podman, then {SETUP_COMMAND}"
        return SETUP_COMMAND

    def available(self) -> Availability:
        """podman installed, this host's image built, and a container starts and runs the base
        interpreter (the probe takes about a second, once per process)."""
        if not sys.platform.startswith("linux"):  # the image binds the host's system: Linux binaries only
            return Availability(False, "needs a Linux host here (docs/howto/run-in-containers.md: macOS)")
        if shutil.which(ENGINE) is None:
            return Availability(False, "is not installed")
        if built_image() is None:
            return Availability(False, f"has no arena image on this machine yet (build it: {SETUP_COMMAND})")
        with tempfile.TemporaryDirectory(prefix="arena-container-probe-") as probe:
            try:
                with self.open(BoxSpec(workdir=Path(probe))) as box:
                    result = box.run([base_python(), "-I", "-S", "-c", "pass"], Limits(wall_s=60))
            except SandboxStartError as exc:
                _log.debug("the container kind does not start here: %s", exc)
                return Availability(False, f"cannot start a container here: {_last_line(str(exc))}")
        if result.exit_code != 0:
            return Availability(False, f"cannot run the interpreter in a container: {_last_line(result.stderr)}")
        return Availability(True)

    def version(self) -> str | None:
        exe = shutil.which(ENGINE)
        if not exe:
            return None
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return out.strip().split()[-1] if out.strip() else "unknown"

    def open(self, spec: BoxSpec) -> ContainerBox:
        rootfs = built_image()
        engine = shutil.which(ENGINE)
        if rootfs is None or engine is None:
            raise SandboxStartError(f"the container kind needs podman and its image: {self.install_hint}")
        return ContainerBox(self, spec, engine=engine, rootfs=rootfs)


class ContainerBox(BoxBase):
    """One container, started with the first command, every command run in it, removed on close."""

    def __init__(self, kind: ContainerKind, spec: BoxSpec, *, engine: str, rootfs: Path):
        self.kind = kind
        self.spec = replace(spec, workdir=Path(spec.workdir).resolve())
        self.engine = engine
        self.rootfs = rootfs
        self.container: _Container | None = None

    # --- one command ---------------------------------------------------------------------------

    def run(self, cmd: Sequence[str], limits: Limits, *, env: Mapping[str, str] | None = None,
            stdout_path: Path | None = None, stderr_path: Path | None = None) -> SandboxResult:
        container = self._container_for(_Caps(limits.memory_mb, limits.max_procs, limits.network))
        workdir = self.spec.workdir
        launch = {"memory": limits.memory_mb * 1024 * 1024 if limits.memory_mb else None,
                  "procs": limits.max_procs, "started_fd": 3, "fsize": limits.file_bytes,
                  "forward": None if self.spec.router is None else {"port": self.spec.router.port,
                                                                    "uds": ROUTER_SOCKET}}
        started_read, started_write = os.pipe()
        start = time.monotonic()
        try:
            with _env_file(minimal_environment(workdir, env)) as (env_path, inline):
                argv = [base_python(), "-I", "-S", "-c", _FD3, str(started_write),
                        self.engine, "exec", "--preserve-fds", "1", "--env-file", str(env_path), *inline,
                        "--workdir", str(workdir), container.name,
                        base_python(), "-I", "-S", "-c", _LAUNCHER, json.dumps(launch), *cmd]
                with open_output(stdout_path) as out, open_output(stderr_path) as err:
                    try:
                        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                                pass_fds=(started_write,), start_new_session=True)
                    except OSError as exc:
                        raise SandboxStartError(f"container sandbox could not start: {exc}") from exc
                    finally:
                        os.close(started_write)
                    timed_out = not _wait(proc, limits.wall_s)
                    if timed_out:
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(proc.pid, signal.SIGKILL)  # the podman client; the command goes below
                    self._end_command(container)
                    proc.wait()
                    duration = time.monotonic() - start
                    exit_code = _exit_code(proc.returncode)
                    stdout, stderr = tail(out), tail(err)
            started = _launcher_started(started_read)
        finally:
            os.close(started_read)
        if not started:
            raise SandboxStartError(
                f"container sandbox could not start (exit code {exit_code}): {stderr.strip()[-2000:]}")
        return SandboxResult(exit_code=exit_code, timed_out=timed_out,
                             killed_reason=killed_reason(timed_out, exit_code, limits),
                             duration_s=duration, stdout=stdout, stderr=stderr, kind=self.kind.name)

    def _end_command(self, container: _Container) -> None:
        """Kill every process of the container but its init; remove the container when that
        cannot be done (no cgroup to read, or processes that keep coming back)."""
        if container.procs is None or not _kill_all_but(container.procs, container.init_pid):
            self._remove()

    # --- the container -------------------------------------------------------------------------

    def _container_for(self, caps: _Caps) -> _Container:
        """The running container with ``caps``: the one there is, or a fresh one."""
        if self.container is not None and (self.container.caps != caps or not _alive(self.container.init_pid)):
            self._remove()
        if self.container is None:
            self.container = self._start(caps)
        return self.container

    def _start(self, caps: _Caps) -> _Container:
        _remove_orphans(self.engine)
        name = f"arena-{os.getpid()}-{next(_serial)}-{secrets.token_hex(3)}"
        base = [self.engine, "run", "--detach", "--rm", "--name", name,
                "--label", f"{LABEL}={socket.gethostname()}:{os.getpid()}", "--log-driver", "none",
                *_ulimits(caps.max_procs), "--network", "host" if caps.network else "none",
                "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--unsetenv-all", "--hostname", "arena", "--pids-limit", str(caps.max_procs + 1)]
        if caps.memory_mb:
            cap = f"{caps.memory_mb + _INIT_MEMORY_MB}m"
            base += ["--memory", cap, "--memory-swap", cap]
        tail_argv = [*self._mounts(), "--rootfs", f"{self.rootfs}:O", base_python(), "-I", "-S", "-c", _REAPER]
        runtimes = [ContainerKind._runtime] if ContainerKind._runtime is not None else _runtimes()
        errors = []
        for runtime in runtimes:
            try:
                done = subprocess.run([*base, *runtime, *tail_argv], capture_output=True, text=True,
                                      timeout=_START_TIMEOUT_S, stdin=subprocess.DEVNULL)
            except (OSError, subprocess.SubprocessError) as exc:
                raise SandboxStartError(f"podman could not start a container: {exc}") from exc
            if done.returncode == 0:
                ContainerKind._runtime = runtime
                _live.add(name)
                return self._inspect(name, caps)
            errors.append(done.stderr.strip() or f"exit code {done.returncode}")
            subprocess.run([self.engine, "rm", "--force", "--time", "0", name], capture_output=True, timeout=60)
        raise SandboxStartError(f"podman could not start a container: {' / '.join(errors)[-2000:]}")

    def _inspect(self, name: str, caps: _Caps) -> _Container:
        done = subprocess.run([self.engine, "inspect", "--format", "{{.State.Pid}}", name],
                              capture_output=True, text=True, timeout=60)
        try:
            init_pid = int(done.stdout.strip())
        except ValueError:
            self.container = _Container(name, caps, 0, None)
            self._remove()
            raise SandboxStartError(f"podman started container {name} but cannot say its pid: "
                                    f"{done.stderr.strip()[-500:]}") from None
        return _Container(name, caps, init_pid, _cgroup_procs(init_pid))

    def _mounts(self) -> list[str]:
        """The bind mounts and tmpfs of the spec, parents before children (as bubblewrap's)."""
        argv = ["--tmpfs", "/sys:ro,notmpcopyup,mode=0755"]  # the host's devices and kernel settings: out of sight
        for system in SYSTEM_PATHS:
            if os.path.isdir(system) and not os.path.islink(system):  # links are in the image
                argv += ["--volume", _volume(system, system, "ro")]
        for secret in MASKED_FILES:
            if os.path.isfile(secret):
                argv += ["--volume", _volume("/dev/null", secret, "ro")]
        for secret in MASKED_DIRS:
            if os.path.isdir(secret):
                argv += ["--tmpfs", f"{secret}:ro,notmpcopyup,mode=0755"]
        shown_ro = [*interpreter_paths(self.spec.harness_env), *(Path(p).resolve() for p in self.spec.readonly)]
        shown_rw = [self.spec.workdir, *(Path(p).resolve() for p in self.spec.writable)]
        modes = {**{p: "ro" for p in shown_ro}, **{p: "rw" for p in shown_rw}}  # shown both ways: writable
        for path, mode in sorted(modes.items(), key=lambda item: len(item[0].parts)):
            if path.exists():
                argv += ["--volume", _volume(str(path), str(path), mode)]
        for path in (Path(p).resolve() for p in self.spec.hidden):
            if path.is_dir() and inside(path, shown_ro + shown_rw) and not any(inside(e, [path]) for e in shown_rw):
                argv += ["--tmpfs", f"{_checked(str(path))}:notmpcopyup,mode=0755"]
        if self.spec.router is not None:
            argv += ["--volume", _volume(self.spec.router.uds_path, ROUTER_SOCKET, "rw")]
        return argv

    def _remove(self) -> None:
        container, self.container = self.container, None
        if container is None:
            return
        subprocess.run([self.engine, "rm", "--force", "--time", "0", container.name],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        _live.discard(container.name)

    def close(self) -> None:
        self._remove()


# --- helpers ---------------------------------------------------------------------------------------

def built_image() -> Path | None:
    """This host's image (container_image.py), when ``setup --container-image`` has built it."""
    return built_rootfs(SYSTEM_PATHS)


def build_image(log: Callable[[str], None] = print) -> Path:
    """Build this host's image (``setup --container-image``)."""
    return build_rootfs(SYSTEM_PATHS, log)


def _volume(source: str, target: str, mode: str) -> str:
    return f"{_checked(source)}:{_checked(target)}:{mode}"


def _checked(path: str) -> str:
    """A path podman's ``--volume`` and ``--tmpfs`` syntax can carry (no ``:`` or ``,``)."""
    if ":" in path or "," in path:
        raise SandboxStartError(f"the container kind cannot mount {path!r}: podman's mount syntax "
                                "has no way to write ':' or ',' in a path; rename it")
    return path


def _ulimits(max_procs: int) -> list[str]:
    """Explicit rlimits: the runtime's defaults can exceed what this process may set (nested in
    another container), and then no container starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = max_procs + 64
    nproc = min(nproc, _NPROC_CEILING, nproc if nproc_hard == resource.RLIM_INFINITY else nproc_hard)
    files = hard if hard != resource.RLIM_INFINITY else 1 << 20
    return ["--ulimit", f"nofile={min(soft, files)}:{files}", "--ulimit", f"nproc={nproc}:{nproc}"]


def _runtimes() -> list[list[str]]:
    """The OCI runtimes to try, in order: ``$ARENA_CONTAINER_RUNTIME``, else podman's default,
    then runc (crun, the default on Debian, refuses hybrid cgroup hierarchies)."""
    chosen = os.environ.get("ARENA_CONTAINER_RUNTIME")
    if chosen:
        return [["--runtime", chosen]]
    return [[], *([["--runtime", "runc"]] if shutil.which("runc") else [])]


def _cgroup_procs(pid: int) -> Path | None:
    """The cgroup.procs file listing every process of ``pid``'s container (v2, or v1's pids
    controller), when this process can read it."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    candidates = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            candidates.append(Path("/sys/fs/cgroup/pids") / path.lstrip("/") / "cgroup.procs")
        elif controllers == "":
            candidates.append(Path("/sys/fs/cgroup") / path.lstrip("/") / "cgroup.procs")
    for candidate in candidates:
        try:
            if str(pid) in candidate.read_text().split():
                return candidate
        except OSError:
            continue
    return None


def _kill_all_but(procs: Path, keep: int) -> bool:
    """SIGKILL every process listed in ``procs`` but ``keep`` until none is left; False when that
    does not happen (the file went away, or the processes keep coming)."""
    for _ in range(_KILL_SWEEPS):
        try:
            pids = [int(p) for p in procs.read_text().split()]
        except (OSError, ValueError):
            return False
        others = [p for p in pids if p != keep]
        if not others:
            return keep in pids
        for pid in others:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a rootless container's init under another uid map: it exists
        return True
    return True


def _exit_code(returncode: int | None) -> int | None:
    """podman exec reports a command killed by signal N as 128 + N (negative here, as the other kinds do)."""
    if returncode is not None and 128 < returncode < 128 + 65:
        return -(returncode - 128)
    return returncode


@contextlib.contextmanager
def _env_file(env: Mapping[str, str]) -> Iterator[tuple[Path, list[str]]]:
    """The command's environment as a private file for ``--env-file`` (values stay out of the
    host's process list), and ``--env`` flags for the values a line cannot hold (a newline)."""
    inline = [f"--env={key}={value}" for key, value in env.items() if "\n" in value or "\r" in value]
    fd, path = tempfile.mkstemp(prefix="arena-env-")
    try:
        with os.fdopen(fd, "w") as out:
            for key, value in env.items():
                if "\n" not in value and "\r" not in value:
                    out.write(f"{key}={value}\n")
        yield Path(path), inline
    finally:
        os.unlink(path)


def _last_line(text: str) -> str:
    """The last non-empty line (where podman and Python put the error), at most 300 characters."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


_swept: set[str] = set()  # engines whose orphans this process has looked for


def _remove_orphans(engine: str) -> None:
    """Once per process: remove containers a box on this host started in a process that is gone
    (killed before it could close its boxes)."""
    if engine in _swept:
        return
    _swept.add(engine)
    try:
        listed = subprocess.run([engine, "ps", "--all", "--filter", f"label={LABEL}", "--format",
                                 '{{.Names}} {{index .Labels "' + LABEL + '"}}'],
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return
    host = socket.gethostname()
    for line in listed.stdout.splitlines():
        name, _, owner = line.partition(" ")
        owner_host, _, pid = owner.strip().rpartition(":")
        if owner_host == host and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            subprocess.run([engine, "rm", "--force", "--time", "0", name], capture_output=True, timeout=60)


def leftover_containers() -> list[str]:
    """The names of the containers boxes of this process started and have not removed yet."""
    return sorted(_live)


@atexit.register
def _remove_live() -> None:
    """A process that exits with boxes open (a crash, a test killed) takes its containers along."""
    engine = shutil.which(ENGINE)
    for name in sorted(_live):
        if engine:
            subprocess.run([engine, "rm", "--force", "--time", "0", name], capture_output=True, timeout=60)
    _live.clear()

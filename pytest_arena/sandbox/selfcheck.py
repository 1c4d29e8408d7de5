"""The sandbox self-check: before the first cell with a sandbox kind runs, a probe runs INSIDE that
kind on this machine and tries what a hostile agent would. It is what makes a kind we cannot run
where the project is developed (Seatbelt on a Mac, a container runtime) safe to ship: the user's
own machine checks that the kind contains what it claims.

The probe tries to read a canary planted outside the shown paths, a canary in the user's real
HOME, a planted ``.env`` key file and a task's hidden ``reference/``; to write outside the
workspace; to see the harness's environment and its process; to connect to a loopback port other
than the router's (and, with a router link, to reach the router through it); to outgrow the memory
and process caps; and to leave a child (and a detached one, in a new session) running after the
run. Each attempt maps to one wall of ``Guarantees`` (``ATTEMPTS``). A wall *holds* at the
strongest level the attempts allow: ``hard`` when nothing got through, ``soft`` when only attempts
a soft wall allows by definition got through (a process that left the process group, a process of
the host seen), ``absent`` otherwise. A kind whose wall holds below what it claims is refused, every
cell of it, in one line naming the wall, what got through and what to do (``SandboxRefused``).

A pass is cached on disk (``selfcheck_dir()``) by the kind's name, its ``version()``, what it
claims, the policy's shape (which kinds of paths a box shows, not one cell's paths), the probe's
own source and the platform: a new version re-probes. A failure is never cached, so a repaired
kind is seen by the next session. ``python -m pytest_arena setup --check-sandbox`` probes every
kind here afresh and prints the table of claimed against held.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pytest_arena.errors import ArenaError
from pytest_arena.paths import base_python
from pytest_arena.sandbox.base import (
    WALLS,
    BoxSpec,
    Level,
    Limits,
    RouterLink,
    SandboxKind,
    SandboxResult,
    SandboxStartError,
    weight,
)

__all__ = [
    "ATTEMPTS", "Attempt", "SandboxRefused", "SelfCheck", "check", "forget", "policy_shape", "require",
    "selfcheck_dir", "table",
]

Role = Literal["agents", "scoring"]
_FIELDS = {"agents": "sandbox.agents", "scoring": "sandbox.scoring"}


@dataclass(frozen=True)
class Attempt:
    """One thing the probe tries. ``strict``: only a hard wall must stop it (a soft wall is one a
    determined command may get round this way: a detached process, the host's processes seen)."""

    name: str
    wall: str
    what: str  # what got through, as a refusal names it
    strict: bool = False


ATTEMPTS = (
    Attempt("outside", "files", "read a canary planted outside the shown paths"),
    Attempt("home", "files", "read a canary in your HOME"),
    Attempt("dotenv", "files", "read a planted .env key file"),
    Attempt("reference", "files", "read a task's hidden reference/"),
    Attempt("write", "files", "wrote outside the workspace"),
    Attempt("environment", "files", "saw the harness's environment"),
    Attempt("loopback", "network", "connected to a loopback port other than the router's"),
    Attempt("router", "router_link", "found no way to the router through its link"),
    Attempt("router_only", "router_link", "reached a loopback port besides the router"),
    Attempt("memory", "memory", "allocated past the memory cap"),
    Attempt("fork", "processes", "started more processes than the cap"),
    Attempt("harness_pid", "processes", "saw the harness's process", strict=True),
    Attempt("lingering", "wall_time", "left a child running after the run"),
    Attempt("detached", "wall_time", "left a detached process (new session) running after the run", strict=True),
)

# The caps the probe runs under, and what it tries against them.
_MEMORY_MB = 128
_MEMORY_TRY = 512 << 20
_MAX_PROCS = 16
_FORKS = 48
_HOLD_S = 1.5  # how long the probe stays over a cap it got past (a watchdog polls every 0.25-1 s)
# A left-behind child writes its heartbeat until the host leaves a stop file (or at most this long).
_LINGER_S = 60.0
_WATCH_S = 0.8  # how long the host watches the heartbeats after the run (at most)
_ROUTER_SAYS = "arena-selfcheck-router"
_CANARY_ENV = "ARENA_SELFCHECK_CANARY"

# Runs inside the box under ``python -I -S``: stdlib only, Linux and macOS, each attempt on its own
# (one that raises tells nothing and is reported as an error). It prints one JSON line of facts;
# the host decides what got through (a write counts only if it landed on the host). It runs three
# times in one box: the walls, then the memory cap, then the process cap, each its own command, as
# a cap may end the whole command (a watchdog, the OOM killer): that leaves no answer, and counts
# as the cap holding. Over a cap, the probe holds on for ``_HOLD_S``, so a polling cap sees it.
_PROBE = r'''
# pytest-arena sandbox self-check probe
import json, os, socket, sys, time
spec = json.loads(sys.argv[1])
token = spec["token"]
facts, errors = {}, {}


def attempt(name, fn):
    try:
        facts[name] = fn()
    except Exception as exc:
        errors[name] = "%s: %s" % (type(exc).__name__, exc)


def heartbeat(path, detached):
    pid = os.fork()
    if pid == 0:
        try:
            if detached:
                os.setsid()
                if os.fork() != 0:
                    os._exit(0)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            end = time.monotonic() + spec["linger_s"]
            while time.monotonic() < end and not os.path.exists(spec["stop"]):
                with open(path, "a") as beat:
                    beat.write(".")
                time.sleep(0.05)
        finally:
            os._exit(0)
    if detached:
        os.waitpid(pid, 0)
    return True


def read(path):
    try:
        with open(path, "rb") as f:
            return token.encode() in f.read(1 << 16)
    except OSError:
        return False


def write(folders):
    wrote = []
    for folder in folders:
        try:
            with open(os.path.join(folder, "selfcheck-" + token), "w") as f:
                f.write(token)
            wrote.append(folder)
        except OSError:
            pass
    return wrote


def harness_visible():
    pid, start = spec["harness_pid"], spec["harness_start"]
    if os.path.isdir("/proc/self"):
        try:
            with open("/proc/%d/stat" % pid) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return False
        return start is None or rest[19] == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def environment():
    if any(token in value for value in os.environ.values()):
        return True
    if not harness_visible():
        return False
    try:
        with open("/proc/%d/environ" % spec["harness_pid"], "rb") as f:
            return len(f.read(1)) > 0
    except OSError:
        return False


def reach(port, expect=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", port))
        if expect is None:
            return True
        data = b""
        while len(data) < len(expect):
            chunk = s.recv(64)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace").startswith(expect)
    except OSError:
        return False
    finally:
        s.close()


def memory():
    # over the cap, held for hold_s: a cap that kills the command instead leaves no answer
    try:
        block = bytearray(spec["memory_bytes"])
        for i in range(0, len(block), 4096):
            block[i] = 1
    except MemoryError:
        return False
    time.sleep(spec["hold_s"])
    return True


def fork_many():
    pids = []
    try:
        for _ in range(spec["forks"]):
            pid = os.fork()
            if pid == 0:
                time.sleep(spec["hold_s"] + 30)
                os._exit(0)
            pids.append(pid)
    except OSError:
        pass
    if len(pids) >= spec["forks"]:
        time.sleep(spec["hold_s"])  # a cap that kills the command instead leaves no answer
    alive = 0
    for pid in pids:
        try:
            alive += os.waitpid(pid, os.WNOHANG)[0] == 0
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass
    return alive


mode = spec["mode"]
if mode == "memory":
    attempt("memory", memory)
elif mode == "fork":
    attempt("fork", fork_many)
else:
    attempt("lingering", lambda: heartbeat(spec["beats"]["lingering"], False))
    attempt("detached", lambda: heartbeat(spec["beats"]["detached"], True))
    for name in ("outside", "home", "dotenv", "reference"):
        attempt(name, lambda name=name: read(spec["canaries"][name]))
    attempt("write", lambda: write(spec["write_targets"]))
    attempt("environment", environment)
    attempt("harness_pid", harness_visible)
    attempt("loopback", lambda: reach(spec["other_port"]))
    if spec["router_port"]:
        attempt("router", lambda: reach(spec["router_port"], spec["router_says"]))
sys.stdout.write(json.dumps({"facts": facts, "errors": errors}) + "\n")
sys.stdout.flush()
'''


class SandboxRefused(ArenaError):
    """A kind's self-check found a wall it claims does not hold here: its cells do not run."""


@dataclass
class SelfCheck:
    """One kind's self-check for one role: what it claims and what held."""

    kind: str
    title: str
    role: Role
    version: str | None
    install_hint: str
    claimed: dict[str, Level]
    held: dict[str, Level | None]  # None: no attempt could test the wall
    through: dict[str, list[str]]  # wall -> what got through (Attempt.what)
    errors: dict[str, str]  # attempt -> why it told nothing
    error: str | None  # why the probe gave no answer at all (then the kind is refused)
    checked_at: str
    duration_s: float
    cached: bool = False

    @property
    def failed(self) -> list[str]:
        """The walls that hold below what the kind claims."""
        return [wall for wall in WALLS if self.held.get(wall) is not None
                and weight(self.held[wall] or "absent") < weight(self.claimed[wall])]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    def refusal(self, where: str = "") -> str | None:
        """The one line every cell of the kind is refused with (``where``: the config file that
        chose it); None when it passed."""
        if self.ok:
            return None
        name = f"{self.kind} ({self.title}{f' {self.version}' if self.version else ''})"
        if self.error is not None:
            why = f"its self-check could not run: {self.error}"
        else:
            why = "its self-check got through " + "; ".join(
                f"the {wall} wall it claims {self.claimed[wall]} ({', '.join(self.through[wall])})"
                for wall in self.failed)
        fix = f"repair or reinstall it ({self.install_hint})" if self.install_hint else "repair it"
        prefix = f"{where}: " if where else ""
        return (f"{prefix}field '{_FIELDS[self.role]}': sandbox kind {name} refused for {self.role}: {why}. "
                f"{fix[0].upper()}{fix[1:]}, or choose another kind with {_FIELDS[self.role]} "
                f"(python -m pytest_arena setup --check-sandbox shows every kind on this machine)")

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k != "cached"}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SelfCheck:
        return cls(**json.loads(text), cached=True)


def selfcheck_dir() -> Path:
    """``$ARENA_SELFCHECK_DIR`` or ``~/.cache/pytest-arena/selfcheck``: cached passes, and the
    probe's scratch folders while it runs (outside /tmp, where users keep their files)."""
    configured = os.environ.get("ARENA_SELFCHECK_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "pytest-arena" / "selfcheck"


def policy_shape(role: Role) -> dict[str, Any]:
    """Which kinds of paths a box of ``role`` shows (not one cell's paths): the self-check's box has
    this shape, and its cache key holds it. Agents: the workspace, a private HOME, their install
    read-only, the router; scoring: the scoring folder, a report folder, the interpreter and
    restored tests read-only, the harness's own environment, no router. Both hide a task folder."""
    if role == "agents":
        return {"workdir": True, "writable": ["home"], "readonly": ["install"], "hidden": ["reference"],
                "router": True, "harness_env": False}
    return {"workdir": True, "writable": ["report"], "readonly": ["interpreter", "tests"], "hidden": ["task"],
            "router": False, "harness_env": True}


def _key(kind: SandboxKind, role: Role, version: str | None) -> str:
    facts = {"kind": kind.name, "version": version, "claimed": kind.guarantees.as_dict(), "shape": policy_shape(role),
             "probe": hashlib.sha256((_PROBE + repr([asdict(a) for a in ATTEMPTS])).encode()).hexdigest(),
             "platform": [sys.platform, platform.machine(), os.geteuid() == 0 if hasattr(os, "geteuid") else None]}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


_memo: dict[tuple[str, Role, int], SelfCheck] = {}
_lock = threading.Lock()


def forget() -> None:
    """Check again in this process (tests; a kind re-registered under the same object)."""
    _memo.clear()


def check(kind: SandboxKind, role: Role, *, refresh: bool = False) -> SelfCheck:
    """The self-check of ``kind`` for ``role``: this process's, else a cached pass, else a fresh
    probe (``refresh``: always a fresh probe). A pass is written to the cache."""
    memo_key = (kind.name, role, id(kind))
    with _lock:
        if not refresh and memo_key in _memo:
            return _memo[memo_key]
        version = kind.version()
        key = _key(kind, role, version)
        cache = selfcheck_dir() / f"{kind.name}-{role}-{key[:24]}.json"
        result = None
        if not refresh:
            try:
                result = SelfCheck.from_json(cache.read_text())
            except (OSError, ValueError, TypeError):
                result = None
        if result is None and all(level == "absent" for level in kind.guarantees.as_dict().values()):
            # a kind that claims no wall (sandbox.agents: none) has nothing a probe could refute
            result = SelfCheck(kind=kind.name, title=kind.title, role=role, version=version,
                               install_hint=kind.install_hint, claimed=kind.guarantees.as_dict(),
                               held=dict.fromkeys(WALLS), through={}, errors={}, error=None,
                               checked_at=datetime.now(UTC).isoformat(timespec="seconds"), duration_s=0.0)
        if result is None:
            result = _probe(kind, role, version)
            if result.ok:
                _write_atomically(cache, result.to_json())
        _memo[memo_key] = result
        return result


def require(kind: SandboxKind, role: Role, where: str = "") -> SelfCheck:
    """``check``, raising SandboxRefused (the one line, naming the config file ``where``) when the
    kind does not hold what it claims."""
    result = check(kind, role)
    line = result.refusal(where)
    if line is not None:
        raise SandboxRefused(line)
    return result


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:  # an unwritable cache only costs a probe next time
        pass


# --- the probe's run ------------------------------------------------------------------------------

class _Answering:
    """Listeners that answer every connection with one line: the router's stand-in (its TCP port,
    and the Unix socket a router link relays to)."""

    def __init__(self, uds: Path | None, says: bytes):
        self.says, self.stop = says, threading.Event()
        self.sockets = [socket.create_server(("127.0.0.1", 0))]
        if uds is not None:
            unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            unix.bind(str(uds))
            unix.listen(16)
            self.sockets.append(unix)
        self.port = self.sockets[0].getsockname()[1]
        self.threads = [threading.Thread(target=self._serve, args=(s,), daemon=True) for s in self.sockets]
        for thread in self.threads:
            thread.start()

    def _serve(self, server: socket.socket) -> None:
        server.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(self.says)
                except OSError:
                    pass

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=2)
        for server in self.sockets:
            server.close()


def _start_time(pid: int) -> str | None:
    """The process's start time (Linux /proc/<pid>/stat field 22): tells the harness apart from a
    process of the same pid number inside a pid namespace. None where there is no /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


@contextmanager
def _planted_environment(token: str) -> Iterator[None]:
    """The canary in the harness's own environment while the probe runs (a kind that passes the
    harness's environment on shows it)."""
    old = os.environ.get(_CANARY_ENV)
    os.environ[_CANARY_ENV] = token
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(_CANARY_ENV, None)
        else:
            os.environ[_CANARY_ENV] = old


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _answer(run: SandboxResult) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The facts and errors a probe run printed (its last line), or None when it printed none."""
    try:
        answer = json.loads(run.stdout.strip().splitlines()[-1])
        return dict(answer["facts"]), dict(answer["errors"])
    except (ValueError, IndexError, KeyError, TypeError, AttributeError):
        return None


def _watch(beats: dict[str, Path]) -> dict[str, bool]:
    """Which heartbeats still grow after the run: each is watched until it grows, or for ``_WATCH_S``."""
    time.sleep(0.05)
    before = {name: _size(path) for name, path in beats.items()}
    grew = dict.fromkeys(beats, False)
    deadline = time.monotonic() + _WATCH_S
    while time.monotonic() < deadline and not all(grew.values()):
        time.sleep(0.1)
        grew = {name: grew[name] or _size(path) > before[name] for name, path in beats.items()}
    return grew


def _probe(kind: SandboxKind, role: Role, version: str | None) -> SelfCheck:
    """Run the probe in ``kind`` with the shape of ``role``'s boxes; map what it got to walls."""
    start = time.monotonic()
    token = secrets.token_hex(12)
    base = selfcheck_dir()
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="probe-", dir=base)).resolve()
    sockets = Path(tempfile.mkdtemp(prefix="arena-sc-"))  # short: a Unix socket's path is limited
    home_canary = Path.home() / f".pytest-arena-selfcheck-{token}"
    shape = policy_shape(role)
    workspace, writable, shown, outside, project = (root / n for n in ("workspace", "writable", "shown", "outside",
                                                                       "project"))
    for folder in (workspace, writable, shown / "reference", outside, project):
        folder.mkdir(parents=True)
    canaries = {"outside": outside / "canary.txt", "home": home_canary, "dotenv": project / ".env",
                "reference": shown / "reference" / "solution.py"}
    for name, path in canaries.items():
        path.write_text(f"OPENAI_API_KEY={token}\n" if name == "dotenv" else f"{token}\n")
    beats = {"lingering": workspace / "lingering.beat", "detached": workspace / "detached.beat"}
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    router = _Answering(sockets / "router.sock", (_ROUTER_SAYS + "\n").encode()) if shape["router"] else None
    spec = BoxSpec(workdir=workspace, writable=(writable,), readonly=(shown,), hidden=(shown / "reference",),
                   router=RouterLink(uds_path=str(sockets / "router.sock"), port=router.port) if router else None,
                   harness_env=shape["harness_env"])
    probe_spec = {"token": token, "canaries": {k: str(v) for k, v in canaries.items()},
                  "write_targets": [str(outside), str(shown), str(root)], "harness_pid": os.getpid(),
                  "harness_start": _start_time(os.getpid()), "other_port": listener.getsockname()[1],
                  "router_port": router.port if router else None, "router_says": _ROUTER_SAYS,
                  "memory_bytes": _MEMORY_TRY, "forks": _FORKS, "linger_s": _LINGER_S, "hold_s": _HOLD_S,
                  "beats": {k: str(v) for k, v in beats.items()}, "stop": str(workspace / "stop")}
    facts: dict[str, Any] = {}
    errors: dict[str, str] = {}
    error = None
    try:
        with _planted_environment(token), kind.open(spec) as box:
            def probe(mode: str) -> SandboxResult:
                return box.run([base_python(), "-I", "-S", "-c", _PROBE, json.dumps({**probe_spec, "mode": mode})],
                               Limits(wall_s=60, memory_mb=_MEMORY_MB, max_procs=_MAX_PROCS),
                               env={"ARENA_SELFCHECK": "1"})

            run = probe("walls")
            lingered = _watch(beats)
            capped = {mode: probe(mode) for mode in ("memory", "fork")}
        answer = _answer(run)
        if answer is None:
            error = (f"the probe reported nothing (exit code {run.exit_code}"
                     f"{', ' + run.killed_reason if run.killed_reason else ''}): "
                     f"{(run.stderr or run.stdout).strip()[-300:] or 'no output'}")
        else:
            facts, errors = answer
            for mode, result in capped.items():
                got = _answer(result)
                if got is not None:
                    facts.update(got[0])
                    errors.update(got[1])
                elif result.killed_reason or (result.exit_code or 0) < 0:
                    facts[mode] = False  # the cap ended the command: it held
                else:
                    errors[mode] = f"exit code {result.exit_code}: {(result.stderr or result.stdout).strip()[-200:]}"
        landed = [str(folder) for folder in (outside, shown, root) if (folder / f"selfcheck-{token}").exists()]
        try:
            listener.accept()[0].close()
            seen_on_host = True
        except OSError:
            seen_on_host = False
    except SandboxStartError as exc:
        error = f"the kind could not start the probe: {str(exc)[-300:]}"
        lingered, landed, seen_on_host = {}, [], False
    finally:
        listener.close()
        if router is not None:
            router.close()
        home_canary.unlink(missing_ok=True)
        (workspace / "stop").touch()  # what the box left running ends now
        time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
    got_through: dict[str, bool | None] = {}
    if error is None:
        got_through = _through(facts, lingered, landed, seen_on_host, router is not None)
    held, through = _held(got_through)
    return SelfCheck(kind=kind.name, title=kind.title, role=role, version=version, install_hint=kind.install_hint,
                     claimed=kind.guarantees.as_dict(), held=held, through=through, errors=errors, error=error,
                     checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
                     duration_s=round(time.monotonic() - start, 3))


def _through(facts: dict[str, Any], lingered: dict[str, bool], landed: list[str], seen_on_host: bool,
             linked: bool) -> dict[str, bool | None]:
    """Attempt name -> whether it got through (None: it told nothing)."""
    def fact(name: str) -> Any:
        return facts.get(name)

    out: dict[str, bool | None] = {name: (None if fact(name) is None else bool(fact(name)))
                                   for name in ("outside", "home", "dotenv", "reference", "environment",
                                                "harness_pid", "memory")}
    out["write"] = None if fact("write") is None else bool(landed)  # what landed on the host, not what it believed
    out["loopback"] = None if fact("loopback") is None else bool(fact("loopback")) or seen_on_host
    out["fork"] = None if fact("fork") is None else int(fact("fork")) >= _FORKS  # all alive after the hold
    if linked:
        out["router"] = None if fact("router") is None else not fact("router")
        out["router_only"] = out["loopback"]
    for name in ("lingering", "detached"):  # started (the probe says so), and still writing after the run
        out[name] = None if not fact(name) else lingered.get(name, False)
    return out


def _held(got_through: dict[str, bool | None]) -> tuple[dict[str, Level | None], dict[str, list[str]]]:
    """Per wall: the level that held (None: untested) and what got through it."""
    held: dict[str, Level | None] = {}
    through: dict[str, list[str]] = {}
    for wall in WALLS:
        tried = [(a, got_through[a.name]) for a in ATTEMPTS if a.wall == wall and got_through.get(a.name) is not None]
        through[wall] = [a.what for a, got in tried if got]
        if not tried:
            held[wall] = None
        elif any(got and not a.strict for a, got in tried):
            held[wall] = "absent"
        elif any(got for _, got in tried):
            held[wall] = "soft"
        else:
            held[wall] = "hard"
    return held, through


# --- the table ------------------------------------------------------------------------------------

def table(checks: Sequence[SelfCheck], unavailable: Sequence[tuple[SandboxKind, str]] = ()) -> str:
    """Claimed against held, one line per kind and role (``setup --check-sandbox``)."""
    headers = ["kind", "role", "version", *WALLS, "verdict"]
    lines = []
    for c in checks:
        cells = []
        for wall in WALLS:
            held = c.held.get(wall)
            mark = "" if held is None or weight(held) >= weight(c.claimed[wall]) else " !"
            cells.append(f"{c.claimed[wall]}/{held or '-'}{mark}")
        verdict = "ok" if c.ok else ("NO PROBE" if c.error else "REFUSED: " + ", ".join(c.failed))
        lines.append([c.kind, c.role, c.version or "-", *cells, verdict])
    for kind, reason in unavailable:
        hint = f" ({kind.install_hint})" if kind.install_hint and kind.install_hint not in reason else ""
        lines.append([kind.name, "-", "-", *(f"{getattr(kind.guarantees, w)}/-" for w in WALLS),
                      f"not available: {reason}{hint}"])
    widths = [max(len(str(row[i])) for row in [headers, *lines]) for i in range(len(headers))]
    out = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
           for row in [headers, *lines]]
    return "\n".join([out[0], "  ".join("-" * w for w in widths), *out[1:]])

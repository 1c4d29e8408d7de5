"""The SandboxKind seam: what a sandbox kind is, what it promises, and the records a run needs.

A *kind* (bubblewrap, ``unshare``, a plain subprocess, ...) is one way of running a command
walled off from the host. It states its ``guarantees`` (what it enforces, and how firmly), says
whether it works on this machine (``available``) and opens a *box* for one spec (``open``): the
box runs commands (``run``) until it is closed. A kind that holds nothing between commands (an
argv prefix) opens a box that holds nothing; a kind that starts something (a container) starts it
in ``open`` and stops it in ``close``. Kinds register by name in ``pytest_arena.sandbox.kinds``;
rows record that name, and reports read the kind's guarantees, never its name.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self, runtime_checkable

__all__ = [
    "Availability",
    "Box",
    "BoxBase",
    "BoxSpec",
    "Guarantees",
    "Level",
    "Limits",
    "RouterLink",
    "SandboxKind",
    "SandboxResult",
    "SandboxStartError",
    "WALLS",
    "weight",
]

# How firmly a kind enforces one wall:
#   hard:   the kernel enforces it on everything the command starts; nothing inside can undo it;
#   soft:   enforced, but per process or escapable by a determined command (a child that leaves
#           the process group, a count of the user's processes rather than the sandbox's);
#   absent: not enforced.
Level = Literal["hard", "soft", "absent"]
_WEIGHT: dict[str, int] = {"hard": 2, "soft": 1, "absent": 0}
# The walls a kind states a level for, in the order tables show them.
WALLS = ("files", "network", "router_link", "memory", "processes", "wall_time")


@dataclass(frozen=True)
class Guarantees:
    """What a kind enforces on the commands it runs, one level per wall."""

    files: Level  # nothing of the host's files is visible but the system and the paths named
    network: Level  # no network (unless a run asks for it)
    # hard: the router is the one network peer of a run given a RouterLink; absent with network
    # hard: no way to the router at all (run_sandboxed refuses a RouterLink); absent with network
    # absent: the router is reached like any other host, over the host's network.
    router_link: Level
    memory: Level  # Limits.memory_mb
    processes: Level  # Limits.max_procs
    wall_time: Level  # Limits.wall_s: everything the command started is gone when it is over

    @property
    def isolates(self) -> bool:
        """Files and network both walled off: what reports count as "sandboxed"."""
        return self.files == "hard" and self.network == "hard"

    @property
    def strength(self) -> int:
        """hard counts 2, soft 1, absent 0: ``auto`` prefers the strongest available kind."""
        return sum(_WEIGHT[getattr(self, f.name)] for f in fields(self))

    def as_dict(self) -> dict[str, Level]:
        """``{wall: level}`` in ``WALLS`` order: what rows record and tables show."""
        return {wall: getattr(self, wall) for wall in WALLS}


def weight(level: str) -> int:
    """hard 2, soft 1, absent 0 (anything else 0): to compare a level held with one stated."""
    return _WEIGHT.get(level, 0)


@dataclass(frozen=True)
class Availability:
    """Whether a kind works on this machine; when not, why (a phrase after the kind's title,
    e.g. "is not installed")."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


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


@dataclass(frozen=True)
class BoxSpec:
    """What a box shows the commands it runs. ``workdir`` (their cwd) and ``writable`` folders
    are read-write, ``readonly`` paths read-only, each at its own path; ``hidden`` paths look
    empty even inside a shown one; ``router`` is the one network peer; ``harness_env=False``
    leaves the harness's own virtual environment out."""

    workdir: Path
    writable: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    router: RouterLink | None = None
    harness_env: bool = True


@dataclass
class SandboxResult:
    exit_code: int | None  # negative: killed by that signal; None: never reaped
    timed_out: bool
    killed_reason: str | None  # e.g. "wall time 60 s exceeded", "killed by SIGKILL"
    duration_s: float
    stdout: str  # tail, at most TAIL_BYTES
    stderr: str  # tail, at most TAIL_BYTES
    kind: str  # the name of the sandbox kind it ran in


class SandboxStartError(RuntimeError):
    """The sandbox itself could not start: an infrastructure failure, not the command's."""


@runtime_checkable
class Box(Protocol):
    """One opened sandbox: runs commands until closed (``with kind.open(spec) as box:``)."""

    def run(self, cmd: Sequence[str], limits: Limits, *, env: Mapping[str, str] | None = None,
            stdout_path: Path | None = None, stderr_path: Path | None = None) -> SandboxResult:
        """Run ``cmd`` in the spec's workdir within ``limits``. ``env`` adds to a minimal
        environment (nothing of the harness's leaks in); ``stdout_path`` and ``stderr_path``
        keep the whole output (the result carries the tails). Raises SandboxStartError when the
        sandbox itself cannot start."""
        ...

    def close(self) -> None:
        """Release what ``open`` started (nothing, for a kind that holds no state)."""
        ...

    def __enter__(self) -> Box: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class BoxBase:
    """What every box does alike: ``with`` closes it; ``close`` releases nothing unless overridden."""

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


@runtime_checkable
class SandboxKind(Protocol):
    """One way of running commands walled off from the host (see the module docstring)."""

    @property
    def name(self) -> str:
        """What rows record (sandbox.agent, sandbox.scoring, provenance.sandbox)."""
        ...

    @property
    def title(self) -> str:
        """What a person reads in a message: "bubblewrap"."""
        ...

    @property
    def guarantees(self) -> Guarantees: ...

    @property
    def install_hint(self) -> str:
        """The command or step that makes it available ("" when nothing can)."""
        ...

    def available(self) -> Availability:
        """Whether it works here (may start a probe; the registry asks once per process)."""
        ...

    def version(self) -> str | None:
        """The version of what enforces it, for the setup log (None: unknown)."""
        ...

    def open(self, spec: BoxSpec) -> Box:
        """A box for ``spec``. Raises SandboxStartError when the kind cannot serve it (a router
        link it cannot carry)."""
        ...

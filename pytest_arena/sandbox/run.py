"""Run one command in a sandbox: a whitelist of read-only system paths, its workdir (and named
paths) writable, a private /tmp and /proc, no network (or only the router, through a socket),
and memory, process-count and wall-time caps. Agents and acceptance tests both run here.

Which walls hold depends on the sandbox *kind* (base.py: the seam; kinds.py: the registry): each
states its guarantees. Without a ``kind``, a run uses the strongest kind that starts on this
machine (detected once per process by actually starting each); a fallback that leaves the network
open is logged once, loudly (``fallback_warning``), and its rows and reports say so.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from pytest_arena.sandbox.base import BoxSpec, Limits, RouterLink, SandboxResult, SandboxStartError
from pytest_arena.sandbox.kinds import (
    UnknownSandboxKind,
    auto_sandbox_kind,
    availability,
    forget_availability,
    get_sandbox_kind,
    preferred_kind,
    sandbox_kinds,
)
from pytest_arena.sandbox.launcher import SYSTEM_PATHS, base_python, interpreter_paths

__all__ = [
    "SYSTEM_PATHS", "Limits", "RouterLink", "SandboxResult", "SandboxStartError", "base_python",
    "fallback_warning", "forget_detection", "interpreter_paths", "run_sandboxed", "sandbox_kind",
]

_log = logging.getLogger(__name__)
_warned: set[str] = set()  # fallback kinds this process has warned about


def sandbox_kind() -> str:
    """The name of the strongest scoring kind that works on this machine (each kind is probed once
    per process); a fallback that leaves the network open is logged once."""
    kind = auto_sandbox_kind()
    if kind.guarantees.network != "hard" and kind.name not in _warned:
        _warned.add(kind.name)
        _log.warning(fallback_warning(kind.name))
    return kind.name


def forget_detection() -> None:
    """Probe again on the next run (after installing a kind, or in tests that change PATH)."""
    _warned.clear()
    forget_availability()


def fallback_warning(kind: str) -> str:
    """The one line a session prints when scoring cannot use the strongest built-in kind."""
    try:
        guarantees = get_sandbox_kind(kind).guarantees
        walls = {"network": guarantees.network == "hard", "filesystem": guarantees.files == "hard"}
    except UnknownSandboxKind:
        walls = {"network": False, "filesystem": False}
    held = " and ".join(wall for wall, hard in walls.items() if hard)
    lost = " and ".join(wall for wall, hard in walls.items() if not hard)
    isolation = ", ".join(filter(None, [held and f"{held} isolated", lost and f"{lost} NOT isolated"]))
    best = preferred_kind("scoring")
    if best.name != kind and availability(best.name):  # a config named the weaker kind (sandbox.scoring)
        return (f"scoring sandbox: {kind} ({isolation}), as sandbox.scoring names it although {best.title} works "
                f"here (sandbox.scoring: auto picks it); rows record sandbox.scoring={kind!r}.")
    return (f"scoring sandbox: {kind} ({isolation}): {best.title} is missing or cannot start here. "
            f"Install it ({best.install_hint}); rows record sandbox.scoring={kind!r}.")


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
    """Run ``cmd`` in ``workdir`` inside the best available sandbox (or the kind named ``kind``).

    ``env`` adds to a minimal environment (PATH, HOME=workdir, LANG, TMPDIR); nothing else of
    ours leaks in. ``writable`` folders (which must exist) are bound read-write and ``readonly``
    paths read-only, each at its own path; under a kind that walls off files nothing else of the
    host is visible but the system and the interpreter. ``hidden`` paths appear empty even when a
    bound path holds them. ``router`` gives the command its one network path (a kind that cannot
    carry one refuses). ``stdout_path`` and ``stderr_path`` keep the whole output in files (the
    result still carries the tails). ``harness_env=False`` leaves the harness's own virtual
    environment out (agents never see it). Raises SandboxStartError when the sandbox itself cannot
    start.
    """
    chosen = get_sandbox_kind(kind or sandbox_kind())
    if router is not None and chosen.guarantees.network == "hard" and chosen.guarantees.router_link == "absent":
        carriers = [k.name for k in sandbox_kinds() if k.guarantees.router_link == "hard"]
        raise SandboxStartError(f"a router link needs {' or '.join(carriers)}, not {chosen.name}")
    spec = BoxSpec(workdir=Path(workdir), writable=tuple(writable), readonly=tuple(readonly), hidden=tuple(hidden),
                   router=router, harness_env=harness_env)
    with chosen.open(spec) as box:
        return box.run(cmd, limits, env=env, stdout_path=stdout_path, stderr_path=stderr_path)

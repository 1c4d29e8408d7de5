"""The ``seatbelt`` kind: macOS ``sandbox-exec`` with a profile generated from the box's policy.

Why it exists: on a Mac (where the people this benchmark serves run it, with Ollama on Apple
Silicon) there is no bubblewrap; Seatbelt is the kernel sandbox macOS has. The profile
(seatbelt_profile.py) denies by default and shows the system read-only, the agent's install and
the harness's environment read-only, the workspace and the writable paths read-write; hidden paths
stay denied inside shown ones; no Keychain, pasteboard, Launch Services or Apple Events.

What it holds, and how firmly:

- files and network: hard (the kernel checks every process the command starts; a child inherits
  the profile and cannot drop it);
- the router link: hard. The box shares the host's network stack, so the agent dials
  ``127.0.0.1:<port>``, the router's own TCP port on the host, and the profile allows exactly that
  one outbound rule (``localhost:<port>``). The router's Unix socket and the in-box relay that a
  kind with its own network namespace needs (no route out of it) are not used here;
- memory, processes, and a process that leaves the box: soft, from the host-side watchdog
  (seatbelt_watchdog.py); wall time: soft (the process group is killed at the deadline; a child
  that detached between two looks of the watchdog is not).

``/tmp`` is the host's on macOS, shared with every program, so the box does not show it: each box
gets its own folder as ``TMPDIR`` (removed when the box closes).

This module and the profile were only ever run on Linux, through golden files, the SBPL
evaluator and an independent generator (tests/test_seatbelt.py); the self-check
(``python -m pytest_arena setup --check-sandbox``) is what tries it on a real Mac.
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from pytest_arena.sandbox.base import Availability, BoxSpec, Guarantees, Limits, SandboxResult, SandboxStartError
from pytest_arena.sandbox.launcher import PrefixBox, PrefixKind, ProcessWatch, interpreter_paths
from pytest_arena.sandbox.seatbelt_profile import SeatbeltPolicy, render
from pytest_arena.sandbox.seatbelt_watchdog import Watchdog

__all__ = ["SANDBOX_EXEC", "SeatbeltBox", "SeatbeltKind", "policy_for"]

SANDBOX_EXEC = "/usr/bin/sandbox-exec"


def policy_for(spec: BoxSpec, limits: Limits, *, interpreter: Sequence[Path] | None = None) -> SeatbeltPolicy:
    """The policy of ``spec`` as Seatbelt names it: every path resolved (``/var`` is
    ``/private/var`` to the kernel), the interpreter's prefixes (``interpreter_paths``, or the
    ones given) read-only, the router link as its host TCP port."""
    def real(paths: Sequence[Path | str]) -> tuple[str, ...]:
        return tuple(str(Path(p).resolve()) for p in paths)

    shown_ro = interpreter_paths(spec.harness_env) if interpreter is None else list(interpreter)
    return SeatbeltPolicy(
        workdir=real([spec.workdir])[0],
        writable=real(spec.writable),
        readonly=real([*shown_ro, *spec.readonly]),
        hidden=real(spec.hidden),
        router_port=spec.router.port if spec.router is not None else None,
        network=limits.network,
    )


class SeatbeltKind(PrefixKind):
    name = "seatbelt"
    title = "Seatbelt (macOS sandbox-exec)"
    install_hint = "nothing to install: /usr/bin/sandbox-exec ships with macOS"
    program = None  # checked by path in available(): sandbox-exec is never anywhere else
    cannot_start = "is present but cannot start here (the profile was refused?)"
    guarantees: ClassVar[Guarantees] = Guarantees(files="hard", network="hard", router_link="hard",
                                                  memory="soft", processes="soft", wall_time="soft")

    def prefix(self, spec: BoxSpec, limits: Limits) -> list[str]:
        try:
            profile = render(policy_for(spec, limits))
        except ValueError as exc:
            raise SandboxStartError(f"seatbelt sandbox could not start: {exc}") from exc
        return [SANDBOX_EXEC, "-p", profile]

    def watch(self, pid: int, limits: Limits) -> ProcessWatch:
        return Watchdog(pid, limits)

    def available(self) -> Availability:
        if sys.platform != "darwin":
            return Availability(False, "is macOS only")
        if not os.access(SANDBOX_EXEC, os.X_OK):
            return Availability(False, f"is missing ({SANDBOX_EXEC} is not there)")
        return super().available()

    def version(self) -> str | None:
        release = platform.mac_ver()[0]
        return f"macOS {release}" if release else None

    def open(self, spec: BoxSpec) -> SeatbeltBox:
        return SeatbeltBox(self, spec)


class SeatbeltBox(PrefixBox):
    """A prefix box with its own TMPDIR: a fresh folder, writable, removed on close."""

    def __init__(self, kind: SeatbeltKind, spec: BoxSpec):
        self.tmpdir = Path(tempfile.mkdtemp(prefix="arena-seatbelt-")).resolve()
        super().__init__(kind, replace(spec, writable=(*spec.writable, self.tmpdir)))

    def run(self, cmd: Sequence[str], limits: Limits, *, env: Mapping[str, str] | None = None,
            stdout_path: Path | None = None, stderr_path: Path | None = None) -> SandboxResult:
        return super().run(cmd, limits, env={**(env or {}), "TMPDIR": f"{self.tmpdir}/"},
                           stdout_path=stdout_path, stderr_path=stderr_path)

    def close(self) -> None:
        shutil.rmtree(self.tmpdir, ignore_errors=True)

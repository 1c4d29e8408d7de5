"""The ``bwrap`` kind: bubblewrap, the strongest built-in sandbox, and the one agents run in.

Nothing of the host is visible but the system (``/usr``, ``/bin``, ``/lib*``, ``/sbin``, ``/etc``
without its secrets), the Python interpreter, and the paths the caller names (read-only or
writable), each bound at its own path after a private ``/tmp`` tmpfs (so paths under ``/tmp``
work too). New user/pid/net/ipc/uts/cgroup namespaces, no capabilities, its own ``/proc`` (no
host process is visible), killed with its parent. With a ``RouterLink`` the network namespace
still has no route out, but a small forwarder inside listens on ``127.0.0.1:<port>`` and relays to
the router's Unix socket, bound into the sandbox: the command talks HTTP to the router and to
nothing else. This is the only module that names the kind: everything else reads its guarantees.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

from pytest_arena.sandbox.base import BoxSpec, Guarantees, Limits
from pytest_arena.sandbox.launcher import (
    MASKED_DIRS,
    MASKED_FILES,
    ROUTER_SOCKET,
    SYSTEM_PATHS,
    PrefixKind,
    inside,
    interpreter_paths,
)

__all__ = ["MASKED_DIRS", "MASKED_FILES", "ROUTER_SOCKET", "BubblewrapKind"]  # the masks: launcher.py's, shared


class BubblewrapKind(PrefixKind):
    name = "bwrap"
    title = "bubblewrap"
    install_hint = "apt-get install bubblewrap"
    program = "bwrap"
    cannot_start = "is installed but cannot start here (user namespaces off?)"
    # memory is RLIMIT_AS, a cap per process; the user namespace makes RLIMIT_NPROC count only the
    # sandbox's processes (as root a pids cgroup does); the pid namespace dies with the run.
    guarantees: ClassVar[Guarantees] = Guarantees(files="hard", network="hard", router_link="hard",
                                                  memory="soft", processes="hard", wall_time="hard")

    def prefix(self, spec: BoxSpec, limits: Limits) -> list[str]:
        workdir = spec.workdir
        argv = [shutil.which("bwrap") or "bwrap", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc",
                "--dir", "/var/tmp", "--dir", "/run"]
        for system in SYSTEM_PATHS:
            if os.path.islink(system):  # merged /usr: /bin -> usr/bin
                argv += ["--symlink", os.readlink(system), system]
            elif os.path.isdir(system):
                argv += ["--ro-bind", system, system]
        for secret in MASKED_FILES:
            if os.path.isfile(secret):
                argv += ["--ro-bind", "/dev/null", secret]
        for secret in MASKED_DIRS:
            if os.path.isdir(secret):
                argv += ["--tmpfs", secret, "--remount-ro", secret]
        shown_ro = [*interpreter_paths(spec.harness_env), *(Path(p).resolve() for p in spec.readonly)]
        shown_rw = [workdir, *(Path(p).resolve() for p in spec.writable)]
        # Parents before children, so that a writable folder inside a read-only one stays writable.
        for path, flag in sorted([(p, "--ro-bind") for p in shown_ro] + [(p, "--bind") for p in shown_rw],
                                 key=lambda item: len(item[0].parts)):
            if path.exists():
                argv += [flag, str(path), str(path)]
        for path in (Path(p).resolve() for p in spec.hidden):
            if path.is_dir() and inside(path, shown_ro + shown_rw) and not any(
                    inside(e, [path]) for e in shown_rw):
                argv += ["--tmpfs", str(path)]
        if spec.router is not None:
            argv += ["--bind", spec.router.uds_path, ROUTER_SOCKET]
        argv += ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--hostname", "arena", "--chdir", str(workdir)]
        if limits.network:
            argv.append("--share-net")
        return argv + ["--"]

    def forward(self, spec: BoxSpec) -> dict[str, Any] | None:
        return None if spec.router is None else {"port": spec.router.port, "uds": ROUTER_SOCKET}

    def exit_code(self, returncode: int | None) -> int | None:
        # bwrap reports a child killed by signal N as exit code 128 + N.
        if returncode is not None and 128 < returncode < 128 + 65:
            return -(returncode - 128)
        return returncode

    def version(self) -> str | None:
        exe = shutil.which("bwrap")
        if not exe:
            return None
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        return out.strip().split()[-1] if out.strip() else "unknown"

"""The ``unshare`` kind: ``unshare --net`` (with ``--map-root-user`` when not root), a fallback for
acceptance tests where bubblewrap cannot start. It takes the network away and nothing else: the
host's files stay visible, so every run under it is marked (see ``run.fallback_warning``).
"""
from __future__ import annotations

import os
import shutil
from typing import ClassVar

from pytest_arena.sandbox.base import BoxSpec, Guarantees, Limits
from pytest_arena.sandbox.launcher import PrefixKind

__all__ = ["UnshareKind"]


class UnshareKind(PrefixKind):
    name = "unshare"
    title = "unshare --net"
    install_hint = "apt-get install util-linux"
    program = "unshare"
    # A bare network namespace: no way to the router either (run_sandboxed refuses a RouterLink).
    # No pid namespace: a child that leaves the process group outlives the wall time (unless a
    # pids cgroup, as root, catches it); RLIMIT_NPROC counts all the user's processes.
    guarantees: ClassVar[Guarantees] = Guarantees(files="absent", network="hard", router_link="absent",
                                                  memory="soft", processes="soft", wall_time="soft")

    def prefix(self, spec: BoxSpec, limits: Limits) -> list[str]:
        if limits.network:
            return []
        map_root = [] if os.geteuid() == 0 else ["--map-root-user"]
        return [shutil.which("unshare") or "unshare", "--net", *map_root, "--"]

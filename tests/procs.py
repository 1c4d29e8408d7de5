"""Live processes, seen from the host: what the sandbox tests look for after a box is gone."""
from __future__ import annotations

import os
import time
from pathlib import Path


def processes_with(marker: str) -> list[int]:
    """Host pids of live processes whose command line contains ``marker`` (a container's
    processes are the host's too), after giving the kernel a moment to finish tearing down a
    killed pid namespace."""
    for _ in range(50):
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker.encode() in (entry / "cmdline").read_bytes():
                        found.append(int(entry.name))
                except OSError:
                    pass
        if not found:
            break
        time.sleep(0.1)
    return found

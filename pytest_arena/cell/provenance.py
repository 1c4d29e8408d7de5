"""What produced a row: harness version, interpreter, hardware, checkout (pytest-arena's git commit,
when it runs from one: recorded, never compared between hosts), host."""
from __future__ import annotations

import os
import platform
import socket
import sys
from functools import lru_cache
from pathlib import Path

from pytest_arena.cell.rows import Provenance
from pytest_arena.router.pricing import load_pricing
from pytest_arena.sweep.checkout import package_git_sha
from pytest_arena.version import __version__


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return 0.0


@lru_cache(maxsize=4)
def collect(sandbox: str, pricing_path: str | None = None, worker: str = "main") -> Provenance:
    return Provenance(
        harness_version=__version__,
        python=sys.version.split()[0],
        platform=platform.platform(),
        cpu=_cpu_model(),
        cpus=os.cpu_count() or 1,
        memory_gb=_memory_gb(),
        git_sha=package_git_sha(),
        pricing_sha256=load_pricing(pricing_path).sha256,
        sandbox=sandbox,
        host=socket.gethostname(),
        worker=worker,
    )


def hardware_profile_ref(p: Provenance) -> str:
    sha = (p.git_sha or "nogit")[:7]
    return f"{p.cpu}|{p.cpus}cpu|{p.memory_gb:g}GB|git{sha}|py{p.python}"

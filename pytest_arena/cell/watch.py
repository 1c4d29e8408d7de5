"""What a running cell tells whoever watches it live: that its router run exists, so its calls and
cost can be read while it runs. It knows nothing of pytest or terminals: the plugin's progress
display is one watcher (``plugin.progress.CellWatch``), a test can be another, and a cell run with
no watcher tells ``NO_WATCH``."""
from __future__ import annotations

from typing import Protocol

from pytest_arena.router.contracts import RunTotals

__all__ = ["LiveTotals", "NO_WATCH", "Watch"]


class LiveTotals(Protocol):
    """Where a watcher reads a run's figures so far (the router's handle is one)."""

    def totals_so_far(self, run_id: str) -> RunTotals: ...


class Watch(Protocol):
    def routed(self, run_id: str, source: LiveTotals) -> None:
        """The cell's router run ``run_id`` is registered: its figures can be read from ``source``."""


class _NoWatch:
    def routed(self, run_id: str, source: LiveTotals) -> None:
        pass


NO_WATCH: Watch = _NoWatch()

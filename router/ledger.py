"""The ledger: one LedgerRecord per call, kept in memory per run and appended to a JSONL file.

``add`` is all a request pays: two list appends. The records are serialised and written in
batches by a callback the event loop runs between requests (every ``FLUSH_INTERVAL_S``), not by a
writer thread: a second Python thread competes for the GIL, which measurably added milliseconds
to the router's p99. ``flush`` (at run finish) and ``close`` (at shutdown) write everything
pending, so no record is lost when the router stops.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from .contracts import LedgerRecord
from .jsonfast import dumps

FLUSH_INTERVAL_S = 0.05


def record_json(rec: LedgerRecord) -> bytes:
    """One JSONL line: the LedgerRecord fields in declaration order."""
    return dumps(rec) + b"\n"


class Ledger:
    """Used from the router's event loop only (``close`` once that loop has stopped)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._by_run: dict[str, list[LedgerRecord]] = {}
        self._pending: list[LedgerRecord] = []
        self._scheduled = False
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")

    def add(self, rec: LedgerRecord) -> None:
        self._by_run.setdefault(rec.run_id, []).append(rec)
        if self._file is None:
            return
        self._pending.append(rec)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)

    def records(self, run_id: str) -> list[LedgerRecord]:
        return list(self._by_run.get(run_id, ()))

    def forget(self, run_id: str) -> list[LedgerRecord]:
        """Drop a finished run's in-memory index (its lines stay in the file)."""
        return self._by_run.pop(run_id, [])

    def flush(self) -> None:
        """Write every pending record now."""
        self._scheduled = False
        if not self._pending or self._file is None:
            return
        pending, self._pending = self._pending, []
        self._file.write(b"".join(record_json(rec) for rec in pending))
        self._file.flush()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

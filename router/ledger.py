"""The ledger: one LedgerRecord per call, appended to a JSONL file; in memory, each run's running
totals and its records (a run opened with ``keep_recent``, like the standalone router's run that
never finishes, keeps only that many recent ones: its memory stays flat however long it serves).

``add`` is all a request pays: the sums and two appends. The records are serialised and written in
batches by a callback the event loop runs between requests (every ``FLUSH_INTERVAL_S``), not by a
writer thread: a second Python thread competes for the GIL, which measurably added milliseconds
to the router's p99. ``flush`` (at run finish) and ``close`` (at shutdown) write everything
pending, so no record is lost when the router stops.
"""
from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from pathlib import Path

from pytest_arena.router.contracts import LedgerRecord, RunTotals
from pytest_arena.router.jsonfast import dumps

FLUSH_INTERVAL_S = 0.05


def record_json(rec: LedgerRecord) -> bytes:
    """One JSONL line: the LedgerRecord fields in declaration order."""
    return dumps(rec) + b"\n"


class _RunLog:
    __slots__ = ("totals", "recent")

    def __init__(self, run_id: str, keep_recent: int | None):
        self.totals = RunTotals(run_id=run_id)  # sums over every record; its .records stays empty
        self.recent: list[LedgerRecord] | deque[LedgerRecord] = [] if keep_recent is None else deque(maxlen=keep_recent)


class Ledger:
    """Used from the router's event loop only (``close`` once that loop has stopped)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._runs: dict[str, _RunLog] = {}
        self._pending: list[LedgerRecord] = []
        self._scheduled = False
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")

    def open_run(self, run_id: str, keep_recent: int | None = None) -> None:
        """Start a run's in-memory log: every record, or with ``keep_recent`` only that many
        recent ones (the totals count every record either way)."""
        self._runs[run_id] = _RunLog(run_id, keep_recent)

    def add(self, rec: LedgerRecord) -> None:
        log = self._runs.get(rec.run_id)
        if log is not None:  # else its run has finished (a call that outlived finish): the file only
            log.totals.count(rec)
            log.recent.append(rec)
        if self._file is None:
            return
        self._pending.append(rec)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)

    def records(self, run_id: str) -> list[LedgerRecord]:
        """The run's records in memory (all of them, or its recent window)."""
        log = self._runs.get(run_id)
        return list(log.recent) if log is not None else []

    def totals(self, run_id: str) -> RunTotals:
        """The run's totals so far, over every record, with the records in memory."""
        log = self._runs.get(run_id)
        if log is None:
            return RunTotals(run_id=run_id)
        return dataclasses.replace(log.totals, statuses=dict(log.totals.statuses), records=list(log.recent))

    def forget(self, run_id: str) -> RunTotals:
        """A finished run's totals; drops its in-memory log (its lines stay in the file)."""
        totals = self.totals(run_id)
        self._runs.pop(run_id, None)
        return totals

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

"""The ledger: one LedgerRecord per call, kept in memory per run and appended to a JSONL file.

``add`` is all the request path pays: a list append and a queue put. A writer thread serialises
and writes the lines (one write + flush per batch), so a slow disk never slows a call, and
``close`` drains the queue, so no record is lost at shutdown.
"""
from __future__ import annotations

import dataclasses
import queue
import threading
from pathlib import Path

from .contracts import LedgerRecord
from .jsonfast import dumps

_FIELDS = tuple(f.name for f in dataclasses.fields(LedgerRecord))


def record_json(rec: LedgerRecord) -> bytes:
    """One JSONL line: the LedgerRecord fields in declaration order."""
    return dumps({name: getattr(rec, name) for name in _FIELDS}) + b"\n"


class Ledger:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._by_run: dict[str, list[LedgerRecord]] = {}
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")
            self._writer = threading.Thread(target=self._write_loop, name="arena-ledger", daemon=True)
            self._writer.start()

    def add(self, rec: LedgerRecord) -> None:
        self._by_run.setdefault(rec.run_id, []).append(rec)
        if self._writer is not None:
            self._queue.put(rec)

    def records(self, run_id: str) -> list[LedgerRecord]:
        return list(self._by_run.get(run_id, ()))

    def forget(self, run_id: str) -> list[LedgerRecord]:
        """Drop a finished run's in-memory index (its lines stay in the file)."""
        return self._by_run.pop(run_id, [])

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every record added so far is on disk."""
        if self._writer is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
            self._file.close()

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            while True:  # batch whatever else is already waiting
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            lines = []
            markers = []
            for item in items:
                if item is None:
                    stop = True
                elif isinstance(item, threading.Event):
                    markers.append(item)
                else:
                    lines.append(record_json(item))
            if lines:
                self._file.write(b"".join(lines))
                self._file.flush()
            for marker in markers:
                marker.set()

"""raw.jsonl: append-only rows, one ``os.write`` + ``fsync`` per row, by the controller alone.

Whoever ran a cell (this process, an ``-n`` worker, a worker on another host) hands its row,
ledger records and cell folder over with the test report (pytest_arena/cell/handoff.py); the
controller's ``accept`` writes them. A worker never touches the results folder, so it need not
see it. A crash loses at most the cells in flight; ``accept`` ignores a run id it already wrote.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_arena.cell import handoff
from pytest_arena.cell import story as cell_story
from pytest_arena.cell.rows import Row
from pytest_arena.jsonl import read_jsonl

RAW = "raw.jsonl"


def append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        while written < len(data):  # regular files write whole buffers; loop for safety
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class ResultsStore:
    out_dir: Path
    warnings: list[str] = field(default_factory=list)
    _written: set[str] = field(default_factory=set)  # run ids accepted in this session

    @property
    def raw_path(self) -> Path:
        return self.out_dir / RAW

    def write(self, row: Row) -> None:
        if row.run_id in self._written:
            return
        append_line(self.raw_path, row.model_dump_json())
        self._written.add(row.run_id)

    def accept(self, payload: str, *, finished: bool = True) -> dict[str, Any]:
        """Store one handed-over cell: its folder, its ledger records, then its row (the row
        last: a cell without a row is re-run by resume). Returns the row. A cell stopped by
        Ctrl-C (``finished=False``) keeps its folder and its calls but gets no row."""
        row, ledger_lines, artifacts = handoff.read_payload(payload)
        if row["run_id"] in self._written:
            return row
        if row["artifacts"]["stored"] == "results":
            try:
                not_extracted = handoff.unpack_artifacts(artifacts, self.out_dir / row["output_ref"])
            except Exception as exc:  # noqa: BLE001 - a cell's leftovers never cost the session (or another cell) its row
                not_extracted = [f"the cell folder could not be unpacked: {type(exc).__name__}: {exc}"]
            if not_extracted:
                row["artifacts"]["not_extracted"] = not_extracted
            if finished:
                cell_story.write_row(self.out_dir / row["output_ref"], row)  # the row as finalised by pack
        if ledger_lines:
            worker = row["provenance"]["worker"]
            append_line(self.out_dir / "ledger" / f"ledger.{worker}.jsonl", "".join(ledger_lines))
        if not finished:
            return row
        append_line(self.raw_path, json.dumps(row, ensure_ascii=False))
        self._written.add(row["run_id"])
        return row

    def all_rows(self) -> list[dict[str, Any]]:
        rows, problems = read_jsonl(self.raw_path)
        self._note(problems)
        return rows

    def _note(self, problems: list[str]) -> None:
        """Keep each unreadable-line warning once (raw.jsonl is read at start and at end)."""
        for problem in problems:
            if problem not in self.warnings:
                self.warnings.append(problem)
                warnings.warn(problem, stacklevel=3)

    def latest_rows(self) -> dict[str, dict[str, Any]]:
        """cell_key -> its latest row (what resume judges a cell by: pytest_arena/sweep/resume.py)."""
        return {row["cell_key"]: row for row in self.all_rows() if row.get("cell_key")}

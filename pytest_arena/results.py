"""raw.jsonl: append-only rows, one ``os.write`` + ``fsync`` per row.

A single process writes ``<out>/raw.jsonl`` directly. Under pytest-xdist each worker writes its
own shard ``<out>/shards/raw.<worker>.jsonl`` and the controller merges shards into raw.jsonl at
session start (leftovers of a crashed run) and at session end. Merging skips rows whose
``run_id`` is already in raw.jsonl, so a crash in the middle of a merge never duplicates a row.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .rows import Row

RAW = "raw.jsonl"
SHARDS = "shards"


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


def read_jsonl(path: Path, source_key: str | None = None) -> tuple[list[dict], list[str]]:
    """Parsed rows, and a warning naming ``file:line`` per line that is not a JSON object (the line
    stays in the file; nothing is dropped silently). With ``source_key``, each row records its
    ``file:line`` under that key. The one reader of raw.jsonl: the store and the analysis use it."""
    rows: list[dict] = []
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return rows, problems
    except OSError as exc:
        return rows, [f"{path}: cannot read: {exc.strerror or exc}"]
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: skipped line: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{where}: skipped line: a row must be a JSON object, got {type(row).__name__}")
            continue
        if source_key:
            row[source_key] = where
        rows.append(row)
    return rows, problems


@dataclass
class ResultsStore:
    out_dir: Path
    worker: str = "main"  # "main" when not under xdist, else the xdist worker id
    warnings: list[str] = field(default_factory=list)

    @property
    def raw_path(self) -> Path:
        return self.out_dir / RAW

    @property
    def write_path(self) -> Path:
        if self.worker == "main":
            return self.raw_path
        return self.out_dir / SHARDS / f"raw.{self.worker}.jsonl"

    def write(self, row: Row) -> None:
        append_line(self.write_path, row.model_dump_json())

    def shard_paths(self) -> list[Path]:
        return sorted((self.out_dir / SHARDS).glob("raw.*.jsonl"))

    def merge_shards(self) -> int:
        """Move every shard's rows into raw.jsonl (skipping run ids already there); returns rows moved."""
        shards = self.shard_paths()
        if not shards:
            return 0
        existing, problems = read_jsonl(self.raw_path)
        self._note(problems)
        seen = {r.get("run_id") for r in existing}
        moved = 0
        for shard in shards:
            rows, problems = read_jsonl(shard)
            self._note(problems)
            fresh = [r for r in rows if r.get("run_id") not in seen]
            if fresh:
                append_line(self.raw_path, "\n".join(json.dumps(r, ensure_ascii=False) for r in fresh))
                seen.update(r.get("run_id") for r in fresh)
                moved += len(fresh)
            shard.unlink()
        try:
            (self.out_dir / SHARDS).rmdir()
        except OSError:
            pass
        return moved

    def all_rows(self) -> list[dict]:
        rows, problems = read_jsonl(self.raw_path)
        for shard in self.shard_paths():
            more, more_problems = read_jsonl(shard)
            rows.extend(more)
            problems.extend(more_problems)
        self._note(problems)
        return rows

    def _note(self, problems: list[str]) -> None:
        """Keep each unreadable-line warning once (raw.jsonl is read at start and at end)."""
        for problem in problems:
            if problem not in self.warnings:
                self.warnings.append(problem)
                warnings.warn(problem, stacklevel=3)

    def finished_cells(self) -> dict[str, str]:
        """cell_key -> outcome of the latest row, for cells whose latest row is not infra_error."""
        latest: dict[str, str] = {}
        for row in self.all_rows():
            key = row.get("cell_key")
            if key:
                latest[key] = row.get("outcome", "")
        return {k: v for k, v in latest.items() if v and v != "infra_error"}

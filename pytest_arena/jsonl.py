"""Reading a JSONL file of rows (raw.jsonl) with every bad line named, never dropped silently.
It sits at the bottom of the package: the results store, the analysis, the plan and the status
command all read rows, and none of them should pull in the others to do it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["read_jsonl"]


def read_jsonl(path: Path, source_key: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Parsed rows, and a warning naming ``file:line`` per line that is not a JSON object (the line
    stays in the file; nothing is dropped silently). With ``source_key``, each row records its
    ``file:line`` under that key. The one reader of raw.jsonl: the store and the analysis use it."""
    rows: list[dict[str, Any]] = []
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

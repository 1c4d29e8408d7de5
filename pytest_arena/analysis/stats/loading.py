"""Reading raw.jsonl files: every line is a row or a warning naming file:line, never a crash."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_arena.jsonl import read_jsonl

RAW_FILE_NAME = "raw.jsonl"
SOURCE_KEY = "_source"  # added to each loaded row: "file:line", for warnings further down


def find_row_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files as given, folders searched recursively for raw.jsonl (sorted, so order is stable)."""
    files: list[Path] = []
    warnings: list[str] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(path.rglob(RAW_FILE_NAME))
            if not found:
                warnings.append(f"{path}: no {RAW_FILE_NAME} in this folder or below")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            warnings.append(f"{path}: no such file or folder")
    seen: set[Path] = set()
    unique: list[Path] = []
    for f in files:  # a file named twice counts once
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique, warnings


def load_rows(paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows from raw.jsonl files or folders, in file order; bad lines become warnings."""
    files, warnings = find_row_files(paths)
    rows: list[dict[str, Any]] = []
    for file in files:
        more, problems = read_jsonl(file, source_key=SOURCE_KEY)
        rows.extend(more)
        warnings.extend(problems)
    return rows, warnings

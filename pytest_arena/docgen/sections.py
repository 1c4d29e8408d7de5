"""Generated sections of Markdown pages, kept between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
lines, so that documentation derived from code (the reference pages under ``docs/reference/``: config
fields, command-line options, row fields, cell-folder files, the task table) cannot drift from it.
The text around a section is written by hand; only what is between the markers is generated."""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

from pytest_arena.errors import ArenaError

__all__ = ["markers", "split_section", "sync_section"]


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def split_section(path: Path, name: str, fix_command: str) -> tuple[str, str, str]:
    """(text up to and including the start marker, the current section, text from the end marker on)."""
    start_marker, end_marker = markers(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArenaError(f"{path}: cannot read it ({exc.strerror}).") from None
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        raise ArenaError(
            f"{path}: the {name} markers are missing. Put the lines {start_marker} and {end_marker} "
            f"(in that order) where the section belongs, then run `{fix_command}`.")
    head_end = start + len(start_marker)
    return text[:head_end], text[head_end:end], text[end:]


def sync_section(path: Path, name: str, body: str, *, write: bool, fix_command: str) -> int:
    """Write the section (write=True) or check it; returns a process exit code (1: out of date)."""
    head, current, tail = split_section(path, name, fix_command)
    if write:
        if current.strip() != body.strip():
            path.write_text(f"{head}\n{body.rstrip()}\n{tail}", encoding="utf-8")
            print(f"wrote the {name} section into {path}")
        else:
            print(f"{path}: the {name} section is up to date")
        return 0
    if current.strip() == body.strip():
        print(f"{path}: the {name} section is up to date")
        return 0
    diff = difflib.unified_diff(current.strip().splitlines(), body.strip().splitlines(),
                                f"{path} (current)", "generated", lineterm="")
    print("\n".join(diff))
    print(f"{path}: the {name} section is out of date. Run `{fix_command}`.", file=sys.stderr)
    return 1

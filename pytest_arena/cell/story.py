"""The files that tell a cell's story, next to its workspace, logs/ and junit.xml.

- ``patch.diff``: what the agent changed, against a snapshot of the workspace taken before it ran;
- ``calls.jsonl``: the run's ledger records, the same lines the results folder's ledger gets;
- ``test_output.txt``: the acceptance run's verdict and pytest's output;
- ``row.json``: the row as raw.jsonl has it, written by whoever writes the row (``write_row``);
- ``transcript.jsonl`` is the router's (router/transcript.py); the runner only says where.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_arena.router.ledger import record_json
from pytest_arena.sandbox import leftovers

if TYPE_CHECKING:
    from pytest_arena.router.contracts import LedgerRecord
    from pytest_arena.scoring.records import ScoreResult

PATCH = "patch.diff"
CALLS = "calls.jsonl"
TEST_OUTPUT = "test_output.txt"
# in TEST_OUTPUT: the line before the ids of the tests that did not pass (report pages read it)
NOT_PASSED = "not passed:"
ROW = "row.json"
TRANSCRIPT = "transcript.jsonl"
NOT_COPIED = "not-copied.txt"  # what of the workspace was not copied (FIFOs, sockets, devices), and why
NOT_EXTRACTED = "not-extracted.txt"  # what of the handed-over folder the controller did not make (links, specials)
# Byproducts of running code, not the agent's change: never snapshotted, never diffed.
SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
MAX_DIFF_FILE_BYTES = 1 << 20  # a bigger file is named as changed, not diffed line by line
MAX_SNAPSHOT_BYTES = 32 << 20  # text held per snapshot; files past it are named as changed, not diffed
PLANTED_NOTE = ("(pytest's counts below include two tests the scorer planted in a randomly named file, one "
                "that must fail and one that must pass: the tampering cross-check, not the task's tests)")


@dataclass(frozen=True)
class FileState:
    mode: int  # permission bits, as git shows them (100644 / 100755), or 120000 for a symlink
    data: bytes | None  # the content, or a symlink's target; None when not read (unreadable, or too big to diff)
    signature: tuple[int, int] | None = None  # (size, mtime_ns) of a file too big to diff: tells a change


Snapshot = dict[str, FileState]  # workspace-relative POSIX path -> state


def snapshot(root: Path, limits: leftovers.Limits = leftovers.WORKSPACE_LIMITS) -> Snapshot:
    """Every file under ``root`` (symlinks not followed, also to folders), by relative path, up to
    ``limits``. Never raises for what an agent left behind and never blocks: only regular files
    are read, at most ``MAX_DIFF_FILE_BYTES`` of each (a bigger one is known by size and mtime);
    the text of at most ``MAX_SNAPSHOT_BYTES`` is held (binary files and those past it are known
    by a digest); FIFOs, sockets and devices are not files of the diff."""
    files: Snapshot = {}
    kept = 0  # bytes of text held: the harness's memory for a snapshot is bounded, whatever the workspace
    for entry in leftovers.walk(root, limits, skip_dirs=SKIPPED_DIRS).entries:
        if entry.kind == "symlink":
            try:
                files[entry.rel] = FileState(0o120000, os.fsencode(os.readlink(root / entry.rel)))
            except OSError:  # gone while we looked
                continue
        elif entry.kind == "file":
            mode = 0o100755 if entry.mode & 0o111 else 0o100644
            if entry.size > MAX_DIFF_FILE_BYTES:
                files[entry.rel] = FileState(mode, None, (entry.size, entry.mtime_ns))
                continue
            data = leftovers.read_bounded(root / entry.rel, MAX_DIFF_FILE_BYTES + 1)
            if data is not None and (b"\0" in data or kept + len(data) > MAX_SNAPSHOT_BYTES):
                # binary, or past the snapshot's budget: known by a digest, named in the diff
                digest = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
                files[entry.rel] = FileState(mode, None, (len(data), digest))
                continue
            kept += len(data or b"")
            files[entry.rel] = FileState(mode, data)
    return files


def workspace_diff(before: Snapshot, after: Snapshot) -> str:
    """A unified diff (git's layout) from ``before`` to ``after``, files in path order; binary or
    very large files are named, not shown."""
    out: list[str] = []
    for rel in sorted(before.keys() | after.keys()):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        a_path, b_path = _git_path("a/", rel), _git_path("b/", rel)
        out.append(f"diff --git {a_path} {b_path}\n")
        if old is None:
            assert new is not None  # equal states were skipped above
            out.append(f"new file mode {new.mode:o}\n")
        elif new is None:
            out.append(f"deleted file mode {old.mode:o}\n")
        elif old.mode != new.mode:
            out.append(f"old mode {old.mode:o}\nnew mode {new.mode:o}\n")
        if old is not None and new is not None and (old.data, old.signature) == (new.data, new.signature):
            continue  # a mode change only
        old_text, new_text = _text(old), _text(new)
        a, b = ("/dev/null" if old is None else a_path), ("/dev/null" if new is None else b_path)
        if old_text is None or new_text is None:
            out.append(f"Binary files {a} and {b} differ\n")
            continue
        for line in difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                         fromfile=a, tofile=b):
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


_GIT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
                "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _git_path(prefix: str, rel: str) -> str:
    """``prefix + rel`` as git writes a path in a diff (core.quotePath): a path with a control
    character, a quote, a backslash or a byte over 0x7f is C-quoted, so no name can read as a
    hunk, a header or another file (bytes that were not UTF-8 included)."""
    raw = os.fsencode(prefix + rel)
    if not any(byte < 0x20 or byte in (0x22, 0x5C) or byte >= 0x7F for byte in raw):
        return prefix + rel
    out = []
    for byte in raw:
        ch = chr(byte)
        if ch in _GIT_ESCAPES:
            out.append(_GIT_ESCAPES[ch])
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _text(state: FileState | None) -> str | None:
    """The file's text; "" for an absent file; None when it is binary or too big to diff."""
    if state is None:
        return ""
    if state.data is None or len(state.data) > MAX_DIFF_FILE_BYTES or b"\0" in state.data:
        return None
    try:
        return state.data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def write_patch(cell_dir: Path, before: Snapshot, workspace: Path,
                limits: leftovers.Limits = leftovers.WORKSPACE_LIMITS) -> None:
    (cell_dir / PATCH).write_text(workspace_diff(before, snapshot(workspace, limits)), encoding="utf-8",
                                  errors="surrogateescape")


def write_calls(cell_dir: Path, records: list[LedgerRecord]) -> None:
    (cell_dir / CALLS).write_bytes(b"".join(record_json(rec) for rec in records))


def write_test_output(cell_dir: Path, scored: ScoreResult | None, why_not: str | None) -> None:
    """The acceptance run's verdict, the tests that did not pass, then pytest's own output (the
    sandbox keeps its last 16 KiB of stdout and of stderr; junit.xml has every failure whole)."""
    if scored is None:
        text = f"the acceptance tests did not run: {why_not or 'the cell stopped before scoring'}\n"
    else:
        lines = [f"acceptance run: {scored.status}, {scored.tests_passed}/{scored.tests_total} tests passed "
                 f"(sandbox {scored.sandbox}, {scored.duration_s:.1f} s)", f"reason: {scored.reason}"]
        if scored.failures:
            lines += [NOT_PASSED, *(f"  {test}" for test in scored.failures)]
        lines += ["", f"---- {scored.runner} output ----", PLANTED_NOTE.replace("pytest's", f"{scored.runner}'s"),
                  scored.output.rstrip("\n") if scored.output else "(none)"]
        text = "\n".join(lines) + "\n"
    (cell_dir / TEST_OUTPUT).write_text(text, encoding="utf-8")


def write_row(cell_dir: Path, row: dict[str, Any]) -> None:
    """``row.json``: the row exactly as its raw.jsonl line holds it (indented for reading)."""
    (cell_dir / ROW).write_text(json.dumps(row, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

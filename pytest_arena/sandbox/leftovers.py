"""What an agent (or the code it wrote) leaves behind is hostile input to the harness.

The agent's sandbox keeps it from reading or writing the host, but its workspace, its log folder
and the acceptance run's report folder are then read and copied OUTSIDE the sandbox, by the
harness, as the user. Every such read goes through here, so that it:

- never follows a link: files are opened with ``O_NOFOLLOW`` and folders walked with ``lstat``;
  links are recorded (and copied as links where the copy is itself only ever read this way);
- never opens what is not a regular file for reading (a FIFO would block, a device would read
  for ever): ``O_NONBLOCK`` plus an ``fstat`` check before any read;
- never reads without a bound (``read_bounded``) and never walks without one (``Limits``:
  files, bytes, largest file, depth), iteratively, so a 1,500-deep folder is a limit, not a
  ``RecursionError``;
- handles any name: paths stay ``str`` with Python's surrogate escapes for bytes that are not
  UTF-8, and ``printable`` escapes them (and control characters) wherever a name or a message
  reaches a terminal, a text file or a page;
- creates the files it writes fresh (``create_fresh``): whatever the agent planted at that path
  (a link to a host file, a FIFO) is removed first, and the file is made with ``O_EXCL``.
"""
from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How much of an agent's leftovers the harness handles per cell (config ``limits``)."""

    files: int = 20_000  # files, links and folders in the workspace
    total_bytes: int = 256 << 20  # bytes of regular files in the workspace
    file_bytes: int = 64 << 20  # the largest single file (also RLIMIT_FSIZE inside the agent's sandbox)
    depth: int = 64  # folder depth under the workspace


WORKSPACE_LIMITS = Limits()  # the defaults


@dataclass(frozen=True)
class Entry:
    rel: str  # POSIX path under the root ("a/b.py"); may hold surrogate escapes
    kind: str  # "file", "dir", "symlink", "fifo", "socket", "char device", "block device", "other"
    size: int  # st_size (a symlink: its target's length)
    mode: int  # st_mode
    mtime_ns: int


@dataclass
class Walk:
    """The outcome of a bounded walk: what was seen, and the first limit reached (if any)."""

    entries: list[Entry] = field(default_factory=list)
    total_bytes: int = 0
    over: str | None = None  # e.g. "more than 20000 files": the walk stopped there
    notes: list[str] = field(default_factory=list)  # one line per thing not handled as a file


def kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "char device"),
                       (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "other"


def walk(root: Path, limits: Limits, *, skip_dirs: frozenset[str] = frozenset(),
         skip: Callable[[str], bool] | None = None) -> Walk:
    """Every entry under ``root``, breadth-first in name order, without following links and
    without recursion. Stops at the first limit reached and says which (``Walk.over``)."""
    out = Walk()
    pending: deque[tuple[str, int]] = deque([("", 0)])
    count = 0
    while pending and out.over is None:
        folder, depth = pending.popleft()
        try:
            with os.scandir(root / folder if folder else root) as it:
                names = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            out.notes.append(f"{printable(folder or '.')}: folder not readable ({exc.strerror})")
            continue
        for entry in names:
            rel = f"{folder}/{entry.name}" if folder else entry.name
            if skip is not None and skip(rel):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone while we looked
            kind = kind_of(info.st_mode)
            if kind == "dir" and entry.name in skip_dirs:
                continue
            count += 1
            if count > limits.files:
                out.over = f"more than {limits.files} files and folders"
                break
            if kind == "file":
                if info.st_size > limits.file_bytes:
                    out.over = f"a file over {_mb(limits.file_bytes)} ({_short(rel)}: {_mb(info.st_size)})"
                    break
                out.total_bytes += info.st_size
                if out.total_bytes > limits.total_bytes:
                    out.over = f"more than {_mb(limits.total_bytes)} of files"
                    break
            out.entries.append(Entry(rel, kind, info.st_size, info.st_mode, info.st_mtime_ns))
            if kind == "dir":
                if depth + 1 > limits.depth:
                    out.over = f"folders deeper than {limits.depth} ({_short(rel)})"
                    break
                pending.append((rel, depth + 1))
            elif kind not in ("file", "symlink"):
                out.notes.append(f"{printable(rel)}: {kind}, not read")
    return out


def _short(rel: str, limit: int = 80) -> str:
    text = printable(rel)
    return text if len(text) <= limit else text[:limit // 2] + "…" + text[-limit // 2:]


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n} bytes"


def open_regular(path: Path) -> int | None:
    """A read-only descriptor of ``path`` if it is a regular file reached without a link; None
    for anything else (link, FIFO, socket, device, folder, gone). Never blocks."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
    except OSError:
        os.close(fd)
        return None
    return fd


def read_bounded(path: Path, limit: int, *, tail: bool = False) -> bytes | None:
    """At most ``limit`` bytes of a regular file (its last ``limit`` with ``tail``); None when
    ``path`` is not a regular file reached without a link."""
    fd = open_regular(path)
    if fd is None:
        return None
    try:
        if tail:
            size = os.fstat(fd).st_size
            if size > limit:
                os.lseek(fd, size - limit, os.SEEK_SET)
        chunks, left = [], limit
        while left > 0:
            data = os.read(fd, min(CHUNK, left))
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_text(path: Path, limit: int, *, tail: bool = False) -> str:
    """``read_bounded`` decoded (UTF-8, bad bytes replaced); "" when not a regular file."""
    data = read_bounded(path, limit, tail=tail)
    return "" if data is None else data.decode("utf-8", "replace")


def create_fresh(path: Path, mode: int = 0o644) -> int:
    """A new, empty file at ``path`` opened for writing (and reading): whatever was there (a link
    to a host file, a FIFO, a folder) is removed first, never opened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except (IsADirectoryError, PermissionError):  # a folder (unlink of a folder is EISDIR, or EPERM)
        if not path.is_dir() or path.is_symlink():
            raise
        remove_tree(path)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)


def open_fresh(path: Path) -> BinaryIO:
    """``create_fresh`` as a binary file object (``w+b``)."""
    return os.fdopen(create_fresh(path), "w+b")


def copy_file(src: Path, dst: Path, limit: int) -> bool:
    """Copy a regular file reached without a link, at most ``limit`` bytes, to a fresh ``dst``
    (permission bits kept). False (nothing written) when ``src`` is not such a file."""
    fd = open_regular(src)
    if fd is None:
        return False
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode) & 0o777
        out = create_fresh(dst, mode | 0o600)
        try:
            left = limit
            while left > 0:
                data = os.read(fd, min(CHUNK, left))
                if not data:
                    break
                os.write(out, data)
                left -= len(data)
            os.fchmod(out, mode | 0o600)
        finally:
            os.close(out)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def copy_tree(src: Path, dst: Path, limits: Limits, *, skip_dirs: frozenset[str] = frozenset(),
              skip: Callable[[str], bool] | None = None, links: bool = True, walked: Walk | None = None) -> Walk:
    """Copy ``src`` into ``dst`` within ``limits``: folders and regular files, and symlinks as
    links (their targets are text here: nothing follows them) when ``links``. FIFOs, sockets and
    devices are never opened nor made; each is a line of ``Walk.notes``, as are links when not
    copied. What is past a limit is not copied (``Walk.over`` says which). ``walked``: a walk of
    ``src`` already made (same limits and skips): it is used, and its notes added to."""
    seen = walked if walked is not None else walk(src, limits, skip_dirs=skip_dirs, skip=skip)
    dst.mkdir(parents=True, exist_ok=True)
    for entry in seen.entries:
        target = dst / entry.rel
        try:
            if entry.kind == "dir":
                target.mkdir(exist_ok=True)
            elif entry.kind == "file":
                if not copy_file(src / entry.rel, target, limits.file_bytes):
                    seen.notes.append(f"{printable(entry.rel)}: changed while copied, not copied")
            elif entry.kind == "symlink":
                link = os.readlink(src / entry.rel)
                if links:
                    if target.is_symlink() or target.exists():
                        target.unlink()
                    os.symlink(link, target)
                else:
                    seen.notes.append(f"{printable(entry.rel)}: symlink -> {printable(link)}, not copied")
        except OSError as exc:
            seen.notes.append(f"{printable(entry.rel)}: not copied ({exc.strerror or exc})")
    return seen


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: Path) -> None:
    """``shutil.rmtree(path, ignore_errors=True)`` for a tree an agent made: no recursion (a
    1,500-deep folder is a ``RecursionError`` for shutil), one folder descriptor open at a time
    (no path grows past PATH_MAX, no descriptor limit is met), links never followed."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        return
    except OSError:
        try:
            os.unlink(path)
        except OSError:
            pass
        return

    def clear(folder: int) -> list[str]:
        """Unlink every non-folder here; return the sub-folders' names."""
        subdirs: list[str] = []
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            return subdirs
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.name)
                else:
                    os.unlink(entry.name, dir_fd=folder)
            except OSError:
                pass
        return subdirs

    stack: list[tuple[str, list[str]]] = []
    pending = clear(fd)
    while True:
        if pending:
            name = pending.pop()
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                continue
            os.close(fd)
            fd = child
            stack.append((name, pending))
            pending = clear(fd)
            continue
        if not stack:
            break
        name, pending = stack.pop()
        parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
        os.close(fd)
        fd = parent
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            pass
    os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass


def keep_tail(path: Path, keep: int) -> None:
    """Cut a log the harness wrote (through a descriptor it opened) to its last ``keep`` bytes,
    after a first line saying how much was cut. A log that is not a regular file any more is
    removed: the agent replaced it."""
    fd = open_regular(path)
    if fd is None:
        if path.is_symlink() or path.exists() and not path.is_dir():
            path.unlink()
        return
    try:
        size = os.fstat(fd).st_size
        if size <= keep:
            return
        os.lseek(fd, size - keep, os.SEEK_SET)
        tail = b"".join(iter(lambda: os.read(fd, CHUNK), b""))
    finally:
        os.close(fd)
    with open_fresh(path) as out:
        out.write(f"[pytest-arena: the first {size - len(tail)} bytes of this log were cut; "
                  f"its last {len(tail)} are kept]\n".encode())
        out.write(tail)


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` safe for a terminal, a one-line record or a page: control characters (escape
    sequences, carriage returns, bells; line breaks unless ``keep_newlines``) and bytes that were
    not UTF-8 (surrogate escapes) become visible escapes."""
    out = []
    for ch in text:
        if ch in "\n\t" and keep_newlines or ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)


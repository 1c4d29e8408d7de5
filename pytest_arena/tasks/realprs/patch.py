"""The agent's change as a SWE-bench prediction diff (``model_patch``), made so that nothing the
agent left in its workspace can make git fail, run anything, read another repository or write
into the prepared one.

git never looks at the workspace. The harness walks it (symlinks not followed) and reads its
regular files itself; git works in a throwaway bare repository whose only link to the prepared
repository is that repository's object folder as a read-only alternate (the blobs of the changed
files go to the throwaway object folder, written by the harness; git itself writes no object, so
it never touches one of the prepared repository). So:

- ``.git`` entries (the workspace's own, and any nested one: a ``git init`` in a subfolder, or a
  ``.git`` file pointing at another repository) are left out; the files beside them are the
  agent's files like any other, and each nested one is named in the notes;
- ``.gitattributes`` and ``.gitmodules`` are files like any other: a bare repository reads no
  attributes from its trees, and nothing here reads submodules (gitlinks of base_commit stay);
- ignore rules are the workspace's ``.gitignore`` files (as ``git add -A`` honours them), read
  from copies the harness makes of the regular ones only (a FIFO named ``.gitignore`` cannot
  block git); an ignored file that base_commit tracks still counts;
- FIFOs, sockets, devices and unreadable files are left out and named in the notes.

The diff is ``git diff --cached --binary base_commit`` of that index, with no external diff and no textconv: a
binary file the agent changed is in the patch as git's binary patch, which ``git apply`` applies.
What cannot be made at all (git itself failing, a file vanishing under the walk) raises
``PatchError``: the agent's doing, a failed cell, never an infrastructure error.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from pytest_arena.errors import SolutionError
from pytest_arena.tasks.realprs.gitsafe import last_words, run_git

_CHUNK = 1 << 20
_MAX_GITIGNORE_BYTES = 1 << 20  # a bigger .gitignore is not used as ignore rules (named in the notes)
_GITLINK = "160000"
_DIFF = ("diff", "--no-color", "--no-ext-diff", "--no-textconv", "--binary")


class PatchError(SolutionError):
    """The agent's workspace gives no patch. It is the agent's doing: the cell fails with this
    reason (the patch could not be made); it is not an infrastructure error."""


@dataclass
class Patch:
    text: str  # the diff against base_commit (git's format; empty when nothing changed)
    notes: list[str] = field(default_factory=list)  # "<path>: why it is not in the diff", one per entry


@dataclass(frozen=True)
class _File:
    mode: str  # 100644, 100755 or 120000
    path: bytes  # absolute path of a regular file, or a symlink's target (mode 120000)


def model_patch(repo: Path, workspace: Path, base_commit: str) -> Patch:
    """What the agent changed in ``workspace``, as a git diff against ``base_commit`` (new files
    included, ignored untracked files not), with ``repo`` (the prepared repository) read only."""
    workspace = Path(workspace)
    try:
        with tempfile.TemporaryDirectory(prefix="arena-patch-") as tmp:
            return _make(Path(repo) / ".git" / "objects", workspace, base_commit, Path(tmp))
    except PatchError:
        raise
    except subprocess.TimeoutExpired as exc:
        raise PatchError(_why(f"git ran past its {exc.timeout:g} s")) from None
    except OSError as exc:
        raise PatchError(_why(f"{type(exc).__name__}: {exc}")) from None


def _why(detail: str) -> str:
    return f"the patch could not be made from the agent's workspace: {detail}"


def _make(objects: Path, workspace: Path, base_commit: str, tmp: Path) -> Patch:
    store = tmp / "store.git"
    env = {"GIT_INDEX_FILE": str(tmp / "index"), "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects)}

    def git(*args: str, input: bytes | None = None, ok: tuple[int, ...] = (0,), **extra: str) -> bytes:
        run = run_git(list(args), git_dir=store, input=input, env={**env, **extra},
                      config=("core.protectNTFS=false", "core.protectHFS=false", "core.quotePath=true"))
        if run.returncode not in ok:
            raise PatchError(_why(f"git {args[0]}: {last_words(run)}"))
        return run.stdout

    fmt = ["--object-format=sha256"] if len(base_commit) == 64 else []
    run = run_git(["init", "-q", "--bare", "--template=", *fmt, str(store)], cwd=tmp)
    if run.returncode != 0:
        raise PatchError(_why(f"git init: {last_words(run)}"))
    base = _tree(git("ls-tree", "-r", "-z", "--full-tree", base_commit))
    notes: list[str] = []
    files = _walk(workspace, {path for path, (mode, _) in base.items() if mode == _GITLINK}, notes)
    new = [path for path in files if path not in base]
    for path in _ignored(new, files, workspace, tmp / "ignore-view", notes, git):
        del files[path]

    hasher = hashlib.sha256 if fmt else hashlib.sha1
    entries = [f"{mode} {oid}".encode() + b"\t" + path for path, (mode, oid) in base.items()
               if mode == _GITLINK and path in files]
    for path, item in sorted(files.items()):
        if item.mode == _GITLINK:
            continue
        was = base.get(path)
        oid = _write_blob(item, store / "objects", hasher, was, workspace / os.fsdecode(path))
        entries.append(f"{item.mode} {oid}".encode() + b"\t" + path)
    # The index is the agent's tree; diffing it (--cached) writes no tree object: git writes
    # nothing at all, and never freshens (touches) an object of the prepared repository.
    git("update-index", "--add", "-z", "--index-info", input=b"".join(e + b"\0" for e in entries))
    diff = git(*_DIFF, "--cached", base_commit)
    return Patch(text=diff.decode("utf-8", "surrogateescape"), notes=notes)


def _tree(listing: bytes) -> dict[bytes, tuple[str, str]]:
    """``git ls-tree -r -z`` -> path -> (mode, object id)."""
    out = {}
    for line in listing.split(b"\0"):
        if line:
            meta, _, path = line.partition(b"\t")
            mode, _, oid = meta.decode().split(" ")
            out[path] = (mode, oid)
    return out


def _shown(path: bytes) -> str:
    return json.dumps(path.decode("utf-8", "replace"))[1:-1]


def _walk(workspace: Path, gitlinks: set[bytes], notes: list[str]) -> dict[bytes, _File]:
    """Every file and symlink of the workspace by relative path (bytes, as git names it), symlinks
    not followed; ``.git`` entries left out, and whatever git cannot hold named in ``notes``.
    A folder where base_commit has a gitlink keeps the gitlink (mode 160000), unread."""
    root = os.fsencode(workspace)
    files: dict[bytes, _File] = {}
    pending = [b""]
    while pending:
        rel_dir = pending.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as listing:
                found = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            notes.append(f"{_shown(rel_dir)}/: cannot be listed ({exc.strerror})")
            continue
        for entry in found:
            rel = rel_dir + b"/" + entry.name if rel_dir else entry.name
            if entry.name.lower() == b".git":  # git's own data, never a file of the patch (any case)
                if rel_dir or entry.name != b".git":
                    notes.append(f"{_shown(rel)}: git data of a nested repository, left out (the files "
                                 f"beside it are in the patch as plain files)")
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                notes.append(f"{_shown(rel)}: cannot be read ({exc.strerror})")
                continue
            if stat.S_ISLNK(info.st_mode):
                if entry.name.lower() == b".gitmodules":
                    notes.append(f"{_shown(rel)}: a symlink named .gitmodules, which git refuses, left out")
                    continue
                files[rel] = _File("120000", os.readlink(entry.path))
            elif stat.S_ISDIR(info.st_mode):
                if rel in gitlinks:
                    files[rel] = _File(_GITLINK, b"")
                else:
                    pending.append(rel)
            elif stat.S_ISREG(info.st_mode):
                if not os.access(entry.path, os.R_OK):
                    notes.append(f"{_shown(rel)}: not readable, left out")
                    continue
                files[rel] = _File("100755" if info.st_mode & stat.S_IXUSR else "100644", entry.path)
            else:
                notes.append(f"{_shown(rel)}: not a file, folder or symlink (a FIFO, socket or device), left out")
    return files


def _ignored(candidates: list[bytes], files: dict[bytes, _File], workspace: Path, view: Path,
             notes: list[str], git) -> list[bytes]:
    """Those of ``candidates`` (files base_commit does not track) the workspace's ``.gitignore``
    files ignore. git reads copies of the regular ``.gitignore`` files in a folder of its own, never
    the workspace."""
    if not candidates:
        return []
    root = os.fsencode(view)
    for rel, item in files.items():
        if rel.rsplit(b"/", 1)[-1] != b".gitignore":
            continue
        if item.mode == "120000":
            notes.append(f"{_shown(rel)}: a symlink, not used as ignore rules (git does not follow it either)")
            continue
        if item.mode == _GITLINK:
            continue
        with open(item.path, "rb") as handle:
            rules = handle.read(_MAX_GITIGNORE_BYTES + 1)
        if len(rules) > _MAX_GITIGNORE_BYTES:
            notes.append(f"{_shown(rel)}: over {_MAX_GITIGNORE_BYTES >> 20} MB, not used as ignore rules")
            continue
        target = os.path.join(root, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(rules)
    for rel in candidates:  # folders exist in the view, so directory-only rules ("build/") match
        parent = rel.rpartition(b"/")[0]
        if parent:
            os.makedirs(os.path.join(root, parent), exist_ok=True)
    out = git("check-ignore", "--no-index", "-z", "--stdin", input=b"".join(c + b"\0" for c in candidates),
              ok=(0, 1), GIT_WORK_TREE=str(view))
    shutil.rmtree(view, ignore_errors=True)
    return [path for path in out.split(b"\0") if path in files]


def _write_blob(item: _File, objects: Path, hasher, was: tuple[str, str] | None, where: Path) -> str:
    """The blob id of a file or symlink; its loose object is written to ``objects`` (the throwaway
    store) unless base_commit has that very blob at that path."""
    if item.mode == "120000":
        data = item.path
        oid = _blob_id(hasher, len(data), [data])
        if was is None or was[1] != oid:
            _store(objects, oid, len(data), [data])
        return oid
    with open(item.path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        oid = _blob_id(hasher, size, iter(lambda: handle.read(_CHUNK), b""))
        if was is not None and was[1] == oid:
            return oid
        handle.seek(0)
        _store(objects, oid, size, iter(lambda: handle.read(_CHUNK), b""))
    return oid


def _blob_id(hasher, size: int, chunks) -> str:
    h = hasher(b"blob %d\0" % size)
    total = 0
    for chunk in chunks:
        h.update(chunk)
        total += len(chunk)
    if total != size:
        raise PatchError(_why("a file changed while it was read"))
    return h.hexdigest()


def _store(objects: Path, oid: str, size: int, chunks) -> None:
    """A loose object, as git writes one (zlib of "blob <size>\\0" + content)."""
    folder = objects / oid[:2]
    folder.mkdir(exist_ok=True)
    target = folder / oid[2:]
    if target.exists():
        return
    packer = zlib.compressobj(1)
    with open(target, "wb") as out:
        out.write(packer.compress(b"blob %d\0" % size))
        for chunk in chunks:
            out.write(packer.compress(chunk))
        out.write(packer.flush())

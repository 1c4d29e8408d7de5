"""A cell's results on their way to the controller, the only writer of the results folder.

The process that ran a cell (pytest itself, an ``-n`` worker or a worker on another host) packs
its row, its ledger records and its cell folder into one JSON string that rides on the test
report's ``user_properties`` (xdist serialises those to the controller). The controller unpacks
it: cell folder first, ledger records next, the row last (the row marks the cell as done, so a
crash in between leaves a cell that resume re-runs). One way for one machine and for many.

Artifacts travel as a gzip'd tar up to ``hosts.artifacts_cap_mb`` per cell; a bigger folder
stays on the host that ran the cell and the row's ``artifacts`` says where.
"""
from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
from pathlib import Path

from pytest_arena.cell import story as cell_story
from pytest_arena.cell.rows import Artifacts, Row
from pytest_arena.router.ledger import record_json
from pytest_arena.sandbox.leftovers import printable

ROW_PROPERTY = "arena_row"  # on the call report: the packed row, ledger records, artifacts
CELL_PROPERTY = "arena_cell"  # on the setup report: which cell a node id runs, and on which host


class _CappedBuffer(io.RawIOBase):
    """The archive in memory up to its cap; past it, only counted: the harness's memory holds at
    most the cap whatever the folder holds, and the row still gets the archive's true size."""

    def __init__(self, cap: int):
        self.cap, self.size = cap, 0
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.size += len(data)
        if self.size <= self.cap:
            self.parts.append(bytes(data))
        else:
            self.parts = []
        return len(data)


def archive_folder(folder: Path, cap_bytes: int | None = None) -> tuple[bytes | None, int]:
    """The folder as a gzip'd tar (links as links, special files as headers: nothing is followed or
    opened but regular files) and its size; the bytes are None when over ``cap_bytes``."""
    buffer = _CappedBuffer(cap_bytes if cap_bytes is not None else 1 << 62)
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        tar.add(folder, arcname=".")
    return (b"".join(buffer.parts) if buffer.size <= buffer.cap else None), buffer.size


def pack(row: Row, records: list, cell_dir: Path, cap_bytes: int) -> tuple[Row, str]:
    """The row with its ``artifacts`` filled, and the payload for the report. A folder under the
    cap is removed from the host once packed; one over it stays where it is."""
    archive, size = archive_folder(cell_dir, cap_bytes) if cell_dir.is_dir() else (b"", 0)
    if archive is not None:
        artifacts = Artifacts(stored="results", host=row.provenance.host, path=None, compressed_bytes=len(archive))
        shutil.rmtree(cell_dir, ignore_errors=True)
        blob = base64.b64encode(archive).decode("ascii")
    else:
        artifacts = Artifacts(stored="host", host=row.provenance.host, path=str(cell_dir), compressed_bytes=size)
        blob = ""
    row = row.model_copy(update={"artifacts": artifacts})
    if artifacts.stored == "host":  # the folder stays here: its row.json too (the controller writes the others)
        cell_story.write_row(cell_dir, row.model_dump(mode="json"))
    payload = {
        "row": row.model_dump(mode="json"),
        "ledger": [record_json(rec).decode("utf-8") for rec in records],
        "artifacts": blob,
    }
    return row, json.dumps(payload, ensure_ascii=False)


def unpack_artifacts(blob: str, dest: Path) -> list[str]:
    """Extract a cell's archive into its folder. Only regular files and folders are extracted,
    each through tarfile's data filter, so a worker cannot write outside its cell folder. What an
    agent left that is neither (a symlink, say to a host file, as ``python -m venv`` leaves; a hard
    link, a FIFO, a device) is never made on the controller: it is recorded, one line each in
    ``not-extracted.txt`` and in the returned list, for the row."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if not blob:
        return []
    skipped = []
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(blob)), mode="r:gz") as tar:
        for member in tar:
            name = printable(member.name.removeprefix("./"))
            if not (member.isreg() or member.isdir()):
                target = f" -> {printable(member.linkname)}" if member.issym() or member.islnk() else ""
                skipped.append(f"{name}: {_KINDS.get(member.type, 'special file')}{target}, not extracted")
                continue
            try:
                tar.extract(member, dest, filter="data")
            except (tarfile.TarError, OSError) as exc:
                skipped.append(f"{name}: not extracted ({type(exc).__name__}: {printable(str(exc))})")
    if skipped:
        (dest / cell_story.NOT_EXTRACTED).write_text("\n".join(skipped) + "\n", encoding="utf-8")
    return skipped


_KINDS = {tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hard link", tarfile.FIFOTYPE: "FIFO",
          tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device"}


def read_payload(payload: str) -> tuple[dict, list[str], str]:
    """(row, ledger lines, artifacts blob) of a packed payload."""
    data = json.loads(payload)
    return data["row"], data["ledger"], data["artifacts"]

"""The hand-off of a cell's results, without a pytest run around it (benchmarks/mutation.py: the
artifacts cap's boundary and the unpacking walls were only reached through slow multi-host runs)."""
from __future__ import annotations

import base64
import io
import json
import tarfile

import pytest

from pytest_arena.cell import handoff
from pytest_arena.cell.rows import Row
from pytest_arena.router.contracts import LedgerRecord
from tests.stats.rowfactory import our_row


def a_row() -> Row:
    return Row.model_validate(our_row("t1", "always-cloud", 0))


def a_cell(tmp_path):
    cell = tmp_path / "cell"
    (cell / "sub").mkdir(parents=True)
    (cell / "agent.log").write_text("hello\n")
    (cell / "sub" / "diff.patch").write_text("+x\n")
    return cell


def archive_size(cell) -> int:
    """The compressed size pack() compares with the cap (archive_folder returns the bytes, or
    (bytes or None, size) since it stops holding an archive over the cap)."""
    made = handoff.archive_folder(cell)
    return made[1] if isinstance(made, tuple) else len(made)


def record() -> LedgerRecord:
    return LedgerRecord(run_id="r", seq=0, ts=1.0, protocol="openai", purpose="agent", strategy="s",
                        choice="cloud", reason="", backend="b", model="m", cost_usd=0.5)


def test_a_folder_exactly_at_the_cap_travels_and_leaves_the_host(tmp_path):
    cell = a_cell(tmp_path)
    size = archive_size(cell)
    row, payload = handoff.pack(a_row(), [record()], cell, cap_bytes=size)
    assert (row.artifacts.stored, row.artifacts.path, row.artifacts.compressed_bytes) == ("results", None, size)
    assert not cell.exists()
    got_row, ledger, blob = handoff.read_payload(payload)
    assert got_row == row.model_dump(mode="json")
    assert [json.loads(line)["cost_usd"] for line in ledger] == [0.5]
    dest = tmp_path / "home" / "cell"
    handoff.unpack_artifacts(blob, dest)
    assert (dest / "agent.log").read_text() == "hello\n"
    assert (dest / "sub" / "diff.patch").read_text() == "+x\n"


def test_a_folder_one_byte_over_the_cap_stays_on_the_host_with_its_row(tmp_path):
    cell = a_cell(tmp_path)
    size = archive_size(cell)
    row, payload = handoff.pack(a_row(), [], cell, cap_bytes=size - 1)
    assert (row.artifacts.stored, row.artifacts.path, row.artifacts.compressed_bytes) == ("host", str(cell), size)
    assert (cell / "agent.log").exists()
    assert json.loads((cell / "row.json").read_text())["artifacts"]["stored"] == "host"
    assert handoff.read_payload(payload)[2] == ""


def test_a_cell_without_a_folder_sends_an_empty_archive(tmp_path):
    row, payload = handoff.pack(a_row(), [], tmp_path / "never-made", cap_bytes=0)
    assert (row.artifacts.stored, row.artifacts.compressed_bytes) == ("results", 0)
    dest = tmp_path / "dest"
    handoff.unpack_artifacts(handoff.read_payload(payload)[2], dest)
    assert dest.is_dir() and not any(dest.iterdir())


def test_unpacking_replaces_what_the_folder_held(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "stale.txt").write_text("old")
    cell = a_cell(tmp_path)
    _, payload = handoff.pack(a_row(), [], cell, cap_bytes=10**9)
    handoff.unpack_artifacts(handoff.read_payload(payload)[2], dest)
    assert sorted(p.name for p in dest.iterdir()) == ["agent.log", "sub"]


@pytest.mark.parametrize("member", ["../escaped.txt", "{tmp}/abs-escaped.txt"])
def test_a_member_that_would_leave_the_cell_folder_is_refused(tmp_path, member):
    """A relative escape is refused; an absolute name lands inside the cell folder."""
    member = member.format(tmp=tmp_path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"pwned"
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    blob = base64.b64encode(buffer.getvalue()).decode("ascii")
    dest = tmp_path / "home" / "cell"
    try:
        handoff.unpack_artifacts(blob, dest)
    except tarfile.TarError:
        pass
    assert not (tmp_path / "home" / "escaped.txt").exists()
    assert not (tmp_path / "abs-escaped.txt").exists()
    assert all(dest in p.parents for p in tmp_path.rglob("*escaped.txt"))


def test_links_and_special_files_are_recorded_never_made(tmp_path):
    cell = a_cell(tmp_path)
    (cell / "venv-python").symlink_to("/usr/bin/python3")
    (cell / "inner-link").symlink_to("agent.log")
    _, payload = handoff.pack(a_row(), [], cell, cap_bytes=10**9)
    dest = tmp_path / "home" / "cell"
    skipped = handoff.unpack_artifacts(handoff.read_payload(payload)[2], dest)
    assert sorted(skipped) == ["inner-link: symlink -> agent.log, not extracted",
                               "venv-python: symlink -> /usr/bin/python3, not extracted"]
    assert not (dest / "venv-python").is_symlink() and not (dest / "inner-link").is_symlink()
    assert sorted((dest / "not-extracted.txt").read_text().splitlines()) == sorted(skipped)
    assert (dest / "agent.log").read_text() == "hello\n"


def test_an_archive_of_files_only_records_nothing(tmp_path):
    _, payload = handoff.pack(a_row(), [], a_cell(tmp_path), cap_bytes=10**9)
    dest = tmp_path / "dest"
    assert handoff.unpack_artifacts(handoff.read_payload(payload)[2], dest) == []
    assert not (dest / "not-extracted.txt").exists()
    assert handoff.unpack_artifacts("", tmp_path / "empty") == []

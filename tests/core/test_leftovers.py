"""pytest_arena/sandbox/leftovers.py: what an agent left is read, copied and removed by the harness
without following a link, waiting on a FIFO, reading without a bound or recursing."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from pytest_arena.cell import story as cell_story
from pytest_arena.sandbox import leftovers
from pytest_arena.sandbox.leftovers import Limits


def test_a_fifo_a_link_and_a_folder_read_as_nothing_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "secret").write_text("host secret")
    os.symlink(tmp_path / "secret", tmp_path / "link")
    (tmp_path / "folder").mkdir()
    start = time.monotonic()
    assert [leftovers.read_bounded(tmp_path / name, 100) for name in ("fifo", "link", "folder", "gone")] == [None] * 4
    assert time.monotonic() - start < 1.0  # nothing waited for a writer
    assert leftovers.read_text(tmp_path / "link", 100) == ""


def test_reads_are_bounded_and_a_tail_is_the_end(tmp_path):
    (tmp_path / "log").write_bytes(b"a" * 1000 + b"THE END")
    assert leftovers.read_bounded(tmp_path / "log", 10) == b"a" * 10
    assert leftovers.read_bounded(tmp_path / "log", 7, tail=True) == b"THE END"


def test_a_fresh_file_replaces_a_planted_link_and_fifo_without_touching_their_targets(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    os.symlink(victim, tmp_path / "step.log")
    os.mkfifo(tmp_path / "other.log")
    for name in ("step.log", "other.log"):
        with leftovers.open_fresh(tmp_path / name) as f:
            f.write(b"fresh")
        assert not (tmp_path / name).is_symlink() and (tmp_path / name).read_bytes() == b"fresh"
    assert victim.read_text() == "keep me"


def test_a_walk_stops_at_the_first_limit_and_says_which(tmp_path):
    deep = tmp_path / "deep"
    path = deep
    for _ in range(10):
        path = path / "d"
    path.mkdir(parents=True)
    assert leftovers.walk(deep, Limits(depth=5)).over == "folders deeper than 5 (d/d/d/d/d/d)"
    assert leftovers.walk(deep, Limits(depth=10)).over is None
    many = tmp_path / "many"
    many.mkdir()
    for i in range(12):
        (many / f"f{i}").write_text("x" * 10)
    assert leftovers.walk(many, Limits(files=11)).over == "more than 11 files and folders"
    assert leftovers.walk(many, Limits(total_bytes=100)).over == "more than 100 bytes of files"
    assert leftovers.walk(many, Limits(file_bytes=9)).over.startswith("a file over 9 bytes (f0: 10 bytes)")
    seen = leftovers.walk(many, Limits())
    assert (seen.over, len(seen.entries), seen.total_bytes) == (None, 12, 120)


def test_a_copy_keeps_files_and_links_and_records_what_it_cannot_copy(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    (src / "a.py").write_text("print(1)\n")
    os.chmod(src / "a.py", 0o755)
    os.symlink("/etc/passwd", src / "link")
    os.mkfifo(src / "fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(src / "sock"))
    seen = leftovers.copy_tree(src, dst, Limits())
    server.close()
    assert (dst / "a.py").read_text() == "print(1)\n" and os.access(dst / "a.py", os.X_OK)
    assert os.readlink(dst / "link") == "/etc/passwd"
    assert not (dst / "fifo").exists() and not (dst / "sock").exists()
    assert sorted(seen.notes) == ["fifo: fifo, not read", "sock: socket, not read"]


def test_a_1500_deep_tree_is_removed_without_recursion(tmp_path):
    top = tmp_path / "top"
    path = top
    top.mkdir()
    for _ in range(1500):  # os.makedirs recurses: made one level at a time
        path = path / "d"
        path.mkdir()
    (path / "file").write_text("x")
    os.symlink("/etc", top / "etc-link")  # removed as a link, never followed
    leftovers.remove_tree(top)
    assert not top.exists() and Path("/etc/passwd").exists()


def test_printable_escapes_control_sequences_and_bytes_that_were_not_utf8():
    assert leftovers.printable("\x1b]52;c;eA==\x07ok\n") == "\\x1b]52;c;eA==\\x07ok\\n"
    assert leftovers.printable(os.fsdecode(b"caf\xff")) == "caf\\xff"
    assert leftovers.printable("line\nnext", keep_newlines=True) == "line\nnext"


def test_patch_paths_are_quoted_as_git_quotes_them(tmp_path):
    (tmp_path / "x\n@@ -1 +1 @@").write_text("y\n")
    (tmp_path / os.fsdecode(b"bad\xff")).write_text("z\n")
    diff = cell_story.workspace_diff({}, cell_story.snapshot(tmp_path))
    assert 'diff --git "a/x\\n@@ -1 +1 @@" "b/x\\n@@ -1 +1 @@"\n' in diff
    assert '+++ "b/bad\\377"\n' in diff
    assert not any(line.startswith("@@ -1 +1 @@") and line.strip() == "@@ -1 +1 @@" for line in diff.splitlines())


def test_a_log_is_cut_to_its_end_and_a_planted_link_in_its_place_is_removed(tmp_path):
    log = tmp_path / "agent.stdout.log"
    log.write_bytes(b"x" * 5000 + b"the report line\n")
    leftovers.keep_tail(log, 100)
    text = log.read_text()
    assert text.startswith("[pytest-arena: the first 4916 bytes of this log were cut; its last 100 are kept]\n")
    assert text.endswith("the report line\n") and len(text.splitlines()[1]) + 1 == 100
    (tmp_path / "secret").write_text("host secret")
    os.symlink(tmp_path / "secret", tmp_path / "agent.stderr.log")
    leftovers.keep_tail(tmp_path / "agent.stderr.log", 100)
    assert not (tmp_path / "agent.stderr.log").exists() and (tmp_path / "secret").read_text() == "host secret"


def test_keeping_a_big_workspace_holds_a_bounded_amount_of_harness_memory(tmp_path):
    """The snapshot, the copy into the cell folder and the hand-off archive of a workspace with
    48 MiB of files and a sparse 1 GiB file: the harness's own allocations stay far below either
    (the approach before held every file whole, the sparse one included: over 1 GiB)."""
    import tracemalloc

    from pytest_arena.cell import handoff

    workspace, cell = tmp_path / "workspace", tmp_path / "cell"
    workspace.mkdir()
    for i in range(48):
        (workspace / f"blob{i}.bin").write_bytes(os.urandom(1 << 20))
    with open(workspace / "sparse.bin", "wb") as f:
        f.truncate(1 << 30)
    limits = Limits(file_bytes=2 << 30, total_bytes=2 << 30)  # let it all through: memory is the point
    tracemalloc.start()
    try:
        cell_story.snapshot(workspace, limits)
        # the sparse one: over, not copied
        leftovers.copy_tree(workspace, cell / "workspace", Limits(file_bytes=64 << 20))
        archive, size = handoff.archive_folder(cell, 8 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert archive is None and size > 48 << 20  # over the cap: counted, not kept
    assert peak < 24 << 20, f"peak {peak / (1 << 20):.1f} MiB"


def test_a_folder_planted_where_a_log_goes_is_replaced_by_the_log(tmp_path):
    (tmp_path / "after.stdout.log" / "inner").mkdir(parents=True)
    with leftovers.open_fresh(tmp_path / "after.stdout.log") as f:
        f.write(b"ok")
    assert (tmp_path / "after.stdout.log").read_bytes() == b"ok"


def test_a_cell_page_reads_no_fifo_and_follows_no_link_of_a_folder_left_on_its_host(tmp_path):
    """A cell folder over hosts.artifacts_cap_mb stays on its host as the agent left it: the
    report's reader gives nothing for a FIFO or a link there, at once, and lists no linked log."""
    from pytest_arena.analysis.report.cell_files import log_files, read_text

    (tmp_path / "logs").mkdir()
    os.mkfifo(tmp_path / "logs" / "agent.fifo")
    (tmp_path / "secret").write_text("host secret")
    os.symlink(tmp_path / "secret", tmp_path / "logs" / "linked.log")
    (tmp_path / "logs" / "real.log").write_text("agent output")
    start = time.monotonic()
    assert read_text(tmp_path / "logs" / "agent.fifo") == (None, False)
    assert read_text(tmp_path / "logs" / "linked.log") == (None, False)
    assert read_text(tmp_path / "logs" / "real.log") == ("agent output", False)
    assert time.monotonic() - start < 1.0
    assert log_files(tmp_path) == [Path("logs/real.log")]

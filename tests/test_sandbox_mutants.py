"""Sandbox walls at their exact edges (benchmarks/mutation.py found these edges unchecked): the
output tail's size, the signal a bwrap exit code stands for, what a killed run says, and the
environment a command gets."""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from pytest_arena.sandbox import launcher
from pytest_arena.sandbox import run as sandbox
from pytest_arena.sandbox.base import BoxSpec
from pytest_arena.sandbox.bubblewrap import MASKED_DIRS
from pytest_arena.sandbox.cgroup import pids_cgroup_parent
from pytest_arena.sandbox.kinds import UnknownSandboxKind, get_sandbox_kind
from pytest_arena.sandbox.run import Limits, run_sandboxed


def prefix(kind: str, workdir: Path, limits: Limits, writable=(), hidden=(), readonly=()) -> list[str]:
    """The argv a prefix kind puts before the launcher for this spec."""
    spec = BoxSpec(workdir=workdir, writable=tuple(writable), readonly=tuple(readonly), hidden=tuple(hidden))
    return get_sandbox_kind(kind).prefix(spec, limits)


def test_output_exactly_at_the_tail_size_is_kept_whole():
    data = b"a" * launcher.TAIL_BYTES
    assert launcher.tail(io.BytesIO(data)) == data.decode()


def test_output_one_byte_over_the_tail_size_keeps_the_end_and_says_it_was_cut():
    data = b"b" + b"a" * (launcher.TAIL_BYTES - 1) + b"Z"
    tail = launcher.tail(io.BytesIO(data))
    assert tail.startswith(launcher._TRUNCATED) and tail.endswith("aZ")
    assert len(tail.encode()) == launcher.TAIL_BYTES  # exactly the cap, marker included
    assert "b" not in tail


def test_a_tail_cut_inside_a_multibyte_character_still_fits_the_cap():
    data = ("é" * launcher.TAIL_BYTES).encode()  # two bytes each
    tail = launcher.tail(io.BytesIO(data))
    assert len(tail.encode()) <= launcher.TAIL_BYTES
    assert tail.endswith("éé")


@pytest.mark.parametrize("returncode, expected", [
    (0, 0), (1, 1), (128, 128), (129, -1), (137, -9), (143, -15), (192, -64), (193, 193), (255, 255),
    (None, None), (-9, -9),
])
def test_bwrap_exit_codes_128_plus_n_are_signal_n(returncode, expected):
    assert get_sandbox_kind("bwrap").exit_code(returncode) == expected


@pytest.mark.parametrize("kind", ["unshare", "subprocess"])
def test_other_kinds_report_exit_codes_as_they_are(kind):
    assert get_sandbox_kind(kind).exit_code(137) == 137


def test_a_command_killed_by_a_signal_says_which(tmp_path):
    result = run_sandboxed([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
                           workdir=tmp_path, limits=Limits(wall_s=30))
    assert (result.exit_code, result.timed_out, result.killed_reason) == (-15, False, "killed by SIGTERM")


def test_a_command_that_exits_non_zero_is_not_killed(tmp_path):
    # (Not 129..192: under bwrap an exit code 128 + N reads as signal N.)
    result = run_sandboxed([sys.executable, "-c", "raise SystemExit(200)"], workdir=tmp_path, limits=Limits(wall_s=30))
    assert (result.exit_code, result.timed_out, result.killed_reason) == (200, False, None)


def test_a_command_that_ends_in_time_is_not_timed_out(tmp_path):
    result = run_sandboxed([sys.executable, "-c", "import time; time.sleep(0.2); print('done')"],
                           workdir=tmp_path, limits=Limits(wall_s=20))
    assert (result.exit_code, result.timed_out, result.killed_reason, result.stdout) == (0, False, None, "done\n")
    assert 0.2 <= result.duration_s < 20


def test_the_environment_is_minimal_and_extra_values_win(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = launcher.minimal_environment(tmp_path, {"LANG": "de_DE.UTF-8", "X": "1"})
    assert env == {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "de_DE.UTF-8", "TMPDIR": "/tmp", "X": "1"}
    assert launcher.minimal_environment(tmp_path, None)["LANG"] == "C.UTF-8"


def test_inside_means_the_folder_itself_or_below_it():
    root = Path("/a/b")
    assert launcher.inside(Path("/a/b"), [root])
    assert launcher.inside(Path("/a/b/c/d"), [Path("/x"), root])
    assert not launcher.inside(Path("/a"), [root])
    assert not launcher.inside(Path("/a/bc"), [root])
    assert not launcher.inside(Path("/a/b"), [])


@pytest.mark.skipif(sandbox.sandbox_kind() != "bwrap", reason="bwrap is not usable here")
def test_bwrap_masks_host_secrets_and_has_no_network_unless_asked(tmp_path):
    argv = prefix("bwrap", tmp_path, Limits(wall_s=1))
    assert "--unshare-all" in argv and "--die-with-parent" in argv and "--share-net" not in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    if os.path.isfile("/etc/shadow"):
        i = argv.index("/etc/shadow")
        assert argv[i - 2:i] == ["--ro-bind", "/dev/null"]
    assert argv[-1] == "--"
    assert "--share-net" in prefix("bwrap", tmp_path, Limits(wall_s=1, network=True))


@pytest.mark.skipif(sandbox.sandbox_kind() != "bwrap", reason="bwrap is not usable here")
def test_a_writable_folder_inside_a_read_only_one_stays_writable(tmp_path):
    ro = tmp_path / "ro"
    rw = ro / "rw"
    rw.mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    result = run_sandboxed([sys.executable, "-c", f"""
import errno
for p in ({str(ro / 'x')!r}, {str(rw / 'x')!r}):
    try:
        open(p, 'w').write('x'); print('written')
    except OSError as exc:
        print(errno.errorcode[exc.errno])
"""], workdir=work, limits=Limits(wall_s=30), readonly=[ro], writable=[rw])
    assert result.stdout.split() == ["EROFS", "written"]


@pytest.mark.skipif(sandbox.sandbox_kind() != "bwrap", reason="bwrap is not usable here")
def test_a_hidden_folder_with_a_writable_folder_inside_is_not_hidden(tmp_path):
    """Hiding a folder that holds a writable one would hide the writable one too: it is left shown."""
    parent = tmp_path / "task"
    (parent / "ws").mkdir(parents=True)
    (parent / "secret.py").write_text("S = 1\n")
    def tmpfs(argv):
        return {b for a, b in zip(argv, argv[1:]) if a == "--tmpfs"}

    argv = prefix("bwrap", parent / "ws", Limits(wall_s=1), (), (parent,), (parent,))
    assert str(parent) not in tmpfs(argv)
    ro_hidden = tmp_path / "ref"
    ro_hidden.mkdir()
    argv = prefix("bwrap", parent / "ws", Limits(wall_s=1), (), (ro_hidden,), (tmp_path,))
    assert str(ro_hidden) in tmpfs(argv)
    outside = Path("/var/empty-nonexistent-arena")
    assert str(outside) not in tmpfs(prefix("bwrap", parent / "ws", Limits(wall_s=1), (), (outside,), ()))


def test_a_bwrap_that_cannot_start_is_a_start_error_not_a_failing_command(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bwrap").write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    (bin_dir / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(sandbox.SandboxStartError, match=r"bwrap sandbox could not start \(exit code 1\): "
                                                        r"bwrap: No permissions"):
        run_sandboxed([sys.executable, "-c", "pass"], workdir=work, limits=Limits(wall_s=30), kind="bwrap")


@pytest.mark.parametrize("kind", ["unshare"])
def test_a_router_link_needs_bwrap(tmp_path, kind):
    with pytest.raises(sandbox.SandboxStartError, match=r"a router link needs bwrap( or [\w-]+)*, not unshare"):
        run_sandboxed(["true"], workdir=tmp_path, limits=Limits(wall_s=30), kind=kind,
                      router=sandbox.RouterLink(uds_path=str(tmp_path / "r.sock"), port=1))


@pytest.mark.skipif(sandbox.sandbox_kind() != "bwrap", reason="bwrap is not usable here")
@pytest.mark.skipif(not any(os.path.isdir(d) and os.listdir(d) for d in MASKED_DIRS),
                    reason="no host secret folder to mask here")
def test_host_secret_folders_look_empty_inside_bwrap(tmp_path):
    shown = [d for d in MASKED_DIRS if os.path.isdir(d) and os.listdir(d)]
    result = run_sandboxed([sys.executable, "-c", f"import os; print([os.listdir(d) for d in {shown!r}])"],
                           workdir=tmp_path, limits=Limits(wall_s=30))
    assert result.stdout.strip() == repr([[] for _ in shown])


def test_unshare_isolates_the_network_only_when_asked_and_maps_root_for_a_normal_user(tmp_path):
    assert prefix("unshare", tmp_path, Limits(wall_s=1, network=True)) == []
    argv = prefix("unshare", tmp_path, Limits(wall_s=1))
    assert argv[0].endswith("unshare") and argv[1] == "--net" and argv[-1] == "--"
    assert ("--map-root-user" in argv) is (os.geteuid() != 0)
    with pytest.raises(UnknownSandboxKind, match="unknown sandbox kind 'docker'"):
        get_sandbox_kind("docker")


@pytest.mark.skipif(os.geteuid() != 0 or pids_cgroup_parent() is None,
                    reason="pids cgroups are used only as root with a writable cgroup")
def test_each_runs_pids_cgroup_is_removed_after_it(tmp_path):
    parent = pids_cgroup_parent()
    before = set(parent.glob(f"pytest-arena-{os.getpid()}-*"))
    run_sandboxed([sys.executable, "-c", "pass"], workdir=tmp_path, limits=Limits(wall_s=30))
    assert set(parent.glob(f"pytest-arena-{os.getpid()}-*")) == before

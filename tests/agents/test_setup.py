"""`python -m pytest_arena setup` and the pinned installer."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from pytest_arena.agents.installers import (
    MARKER_NAME,
    InstallError,
    PinnedPackage,
    install_pinned,
    run_install_step,
)
from pytest_arena.agents.registry import get_agent
from pytest_arena.sweep import setup

from .conftest import INSTALL_ROOT, REAL_AGENTS, fake_install, installed


def test_unknown_agent_names_are_refused_with_the_known_ones(capsys):
    assert setup.main(["--agents", "aider,cursor"]) == 1
    err = capsys.readouterr().err
    assert "unknown agent(s): cursor" in err and "mini-swe-agent" in err


def test_nothing_to_do_says_what_to_pass(capsys):
    assert setup.main([]) == 1
    assert "--agents" in capsys.readouterr().err


def test_an_installed_pin_is_skipped_without_running_anything(tmp_path, monkeypatch):
    root = fake_install(tmp_path, "codex")
    monkeypatch.setenv("PATH", "/nonexistent")  # npm cannot run: skipping must not need it
    lines: list[str] = []
    install_pinned("codex", get_agent("codex").pinned, root, lines.append)
    assert lines == [f"codex: @openai/codex@0.171.0 already installed in {root / 'codex'}, skipping"]


def test_a_missing_npm_is_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(InstallError, match="npm is not on PATH. Install Node.js 20"):
        install_pinned("x", PinnedPackage("npm", "some-cli", "1.0.0", "x"), tmp_path, lambda line: None)
    assert not (tmp_path / "x" / MARKER_NAME).exists()


def test_a_failed_step_names_the_step_and_shows_its_output(tmp_path):
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('No matching distribution'); sys.exit(3)"]
    with pytest.raises(InstallError) as info:
        run_install_step(failing, what="aider: pip install aider-chat==0.86.2", log=lambda line: None, cwd=tmp_path)
    message = str(info.value)
    assert message.startswith("aider: pip install aider-chat==0.86.2 failed (exit 3)")
    assert "No matching distribution" in message


def test_setup_fails_with_exit_1_when_an_install_fails(tmp_path, monkeypatch, capsys):
    # A PATH with bubblewrap (setup checks the sandbox first) and without npm.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if shutil.which("bwrap"):
        (bin_dir / "bwrap").symlink_to(shutil.which("bwrap"))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert setup.main(["--agents", "codex", "--root", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "FAILED codex: npm is not on PATH" in captured.out
    assert "codex could not be installed" in captured.err


@pytest.mark.skipif(not all(installed(a) for a in REAL_AGENTS),
                    reason=f"not every agent is installed in {INSTALL_ROOT}")
def test_setup_all_again_is_a_quick_no_op_that_reports_versions_and_sizes():
    # A real subprocess, as a user runs it.
    proc = subprocess.run([sys.executable, "-m", "pytest_arena", "setup", "--agents", "all",
                           "--root", str(INSTALL_ROOT)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for agent in REAL_AGENTS:
        adapter = get_agent(agent)
        assert f"{agent}: {adapter.pinned.spec} already installed" in proc.stdout
        marker = json.loads((INSTALL_ROOT / agent / MARKER_NAME).read_text())
        assert f"{agent}: ready, version {adapter.pinned.version}, {marker['size_bytes'] / 1e6:.0f} MB" in proc.stdout
    assert proc.stdout.rstrip().endswith("done")


def _bubblewrap(monkeypatch, available: bool, version: str | None = None) -> None:
    """As on a machine where bubblewrap works (at ``version``), or where it is not installed."""
    from pytest_arena.sandbox import kinds
    from pytest_arena.sandbox.base import Availability

    bwrap = kinds.get_sandbox_kind("bwrap")
    monkeypatch.setattr(bwrap, "available", lambda: Availability(available, "" if available else "is not installed"))
    monkeypatch.setattr(bwrap, "version", lambda: version)
    monkeypatch.setattr(kinds, "_available", {})  # forget what this process detected


def test_setup_names_the_sandbox_it_will_use(capsys, monkeypatch):
    _bubblewrap(monkeypatch, True, "0.8.0")
    assert setup.main(["--agents", "oracle"]) == 0
    assert "sandbox: bubblewrap 0.8.0: agents and acceptance tests run isolated" in capsys.readouterr().out


def test_setup_stops_with_one_line_when_bubblewrap_cannot_run(capsys, monkeypatch):
    _bubblewrap(monkeypatch, False)
    assert setup.main(["--agents", "oracle"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install bubblewrap" in err[0] and "sandbox.agents=none" in err[0]


def test_a_long_install_step_says_it_is_still_running(tmp_path, monkeypatch):
    monkeypatch.setattr("pytest_arena.agents.installers.HEARTBEAT_S", 0.2)
    lines: list[str] = []
    run_install_step([sys.executable, "-c", "import time; time.sleep(0.7)"], what="aider: pip install x",
                     log=lines.append, cwd=tmp_path)
    assert lines[0] == "aider: pip install x ..."
    assert any(line.startswith("aider: pip install x: still running (") for line in lines[1:-1])
    assert re.fullmatch(r"aider: pip install x \(\d+\.\ds\)", lines[-1])

"""The controller's view of the hosts of a sweep (pytest-xdist workers over execnet).

- A host joins only if what makes its rows comparable matches the controller: the pytest-arena
  git sha, the installed version of every agent the sweep runs, and the pricing table. The
  controller hands its fingerprint to each worker (``workerinput``); a worker that differs stops
  in ``pytest_configure`` with ``WorkerRefused``, and the controller turns the worker's error into
  one line naming the host and the difference (no remote traceback) and ends the session.
- A host that goes away mid-sweep (its worker died and its address no longer answers) is not
  replaced by xdist, which would try to reconnect and stop the whole sweep with an INTERNALERROR;
  its pending cells go to the other hosts, and the summary says once what happened to it.
- With ``--dist loadgroup`` the controller schedules cells by local model (scheduling.py).
- Cloud keys a sweep's cells never use are taken out of the controller's environment before
  xdist starts workers, so no ``-n``/``popen`` worker inherits them (remote hosts never get the
  controller's environment; they use their own).
"""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import execnet
import pytest

from pytest_arena.sweep.checkout import git_head

if TYPE_CHECKING:
    from pytest_arena.sweep.session import ArenaSession

FINGERPRINT_INPUT = "arena_fingerprint"
GIT_SHA = "pytest-arena git sha"
PRICING = "pricing table sha256"
AGENT = "agent "  # "agent <name>": its installed version
NOT_INSTALLED = "not installed"


# pytest marks UsageError final for type checkers, but its refusal is what a worker's must be: pytest
# prints a UsageError's message as one line, without a traceback.
class WorkerRefused(pytest.UsageError):  # type: ignore[misc]
    """A worker cannot join the sweep; its message is one line the controller shows as is."""


def fingerprint(session: ArenaSession) -> dict[str, str]:
    """What must be equal on every host for its rows to belong to the controller's experiment."""
    from pytest_arena.agents.registry import get_agent
    from pytest_arena.router.pricing import load_pricing
    from pytest_arena.sweep.pricing import pricing_table_path
    from pytest_arena.version import __version__

    prints = {
        GIT_SHA: git_head(Path(__file__).resolve().parents[2]) or f"none (pytest-arena {__version__}, no git checkout)",
        PRICING: load_pricing(pricing_table_path(session.config, session.project_root)).sha256,
    }
    for agent in session.config.benchmark.agents:
        prints[AGENT + agent] = get_agent(agent).version(session.install_root) or NOT_INSTALLED
    return prints


def differences(mine: dict[str, str], controller: dict[str, str]) -> list[str]:
    """What this host has that differs from the controller, each with what to do about it. An
    agent the controller has not installed is no reference (a controller need not run cells)."""
    found = []
    for name, theirs in controller.items():
        ours = mine.get(name, NOT_INSTALLED)
        if ours == theirs or theirs == NOT_INSTALLED:
            continue
        if name == GIT_SHA:
            found.append(f"{GIT_SHA} {ours[:12]}… differs from the controller's {theirs[:12]}…; "
                         "install the same commit there")
        elif name == PRICING:
            found.append(f"the {PRICING} {ours[:12]}… differs from the controller's {theirs[:12]}…; "
                         "use the same table there (pricing.table or router/data/pricing.json)")
        else:
            agent = name.removeprefix(AGENT)
            found.append(f"agent {agent} {ours} differs from the controller's {theirs}; install the same version "
                         f"there (python -m pytest_arena setup --agents {agent})")
    return found


def check_worker(session: ArenaSession, workerinput: dict) -> None:
    """On a worker: refuse to run when this host differs from the controller."""
    controller = workerinput.get(FINGERPRINT_INPUT)
    if controller is None:
        return
    found = differences(fingerprint(session), controller)
    if found:
        raise WorkerRefused("; and ".join(found))


def refusal_line(error: object) -> str | None:
    """The message of a worker's WorkerRefused, from the remote error xdist reports."""
    marker = f"{WorkerRefused.__module__}.{WorkerRefused.__name__}: "
    for line in reversed(str(error or "").splitlines()):
        if line.startswith(marker):
            return line[len(marker):]
    return None


def describe(node) -> str:
    """``gw1 (socket=127.0.0.1:8888)``: the id and the address of a worker."""
    spec = node.gateway.spec
    where = f"ssh={spec.ssh}" if spec.ssh else f"socket={spec.socket}" if spec.socket else "popen"
    return f"{node.gateway.id} ({where})"


def reachable(spec, timeout_s: float = 5.0) -> bool:
    """Whether a worker's host still answers where execnet reached it (a popen worker's host is
    this one). A socket address must accept a connection; an ssh host must run ``true``."""
    if spec.socket:
        host, _, port = spec.socket.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=timeout_s).close()
        except OSError:
            return False
        return True
    if spec.ssh:
        cmd = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(timeout_s)}"]
        cmd += ["-F", spec.ssh_config] if spec.ssh_config else []
        try:
            return subprocess.run([*cmd, spec.ssh, "true"], capture_output=True, timeout=timeout_s * 3).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
    return True


def unneeded_cloud_keys(session: ArenaSession) -> list[str]:
    """Key variables no cell of this sweep uses: its cloud model needs none, or no strategy of an
    LLM agent routes to the cloud (a cell's ``!cloud`` suffix cannot: agents never send one)."""
    from pytest_arena.agents.registry import get_agent
    from pytest_arena.router.backends.base import api_key_variables  # every variable a kind reads its key from
    from pytest_arena.router.strategies import get_strategy
    from pytest_arena.sweep.config.backends import backend_spec

    spec = backend_spec(session.config.models.cloud, session.config.models, "cloud", concurrency=1)
    reaches_cloud = any(get_agent(c.agent).uses_llm and "cloud" in get_strategy(c.strategy).sides
                        for c in session.cells)
    needed = {spec.api_key_env} if reaches_cloud and spec.api_key_env else set()
    return [name for name in api_key_variables() if name not in needed]


def withhold_keys(session: ArenaSession) -> None:
    """Move the keys no cell needs from os.environ into the router's in-memory key store, before
    xdist starts workers: a ``-n``/``popen`` worker inherits this process's environment."""
    from pytest_arena.router.keys import KEYS

    for name in unneeded_cloud_keys(session):
        if os.environ.get(name):
            KEYS.get(name)


def cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


class HostsController:
    """On the xdist controller: hands workers the fingerprint, refuses mismatched hosts, keeps a
    host that went away from being replaced, and prints one line per such host at the end."""

    def __init__(self, session: ArenaSession):
        self.session = session
        self._fingerprint: dict[str, str] | None = None
        self.alive: set[str] = set()
        self.cells: dict[str, int] = {}  # worker id -> cells it finished
        self.crashed: dict[str, int] = {}  # worker id -> cells that got an infra_error row as it died
        self.lost: dict[str, str] = {}  # worker id -> describe(node), for hosts that went away

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.session)
        node.workerinput[FINGERPRINT_INPUT] = self._fingerprint

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        """With ``--dist loadgroup``: cells that call a local model stay together per model."""
        if config.getvalue("dist") != "loadgroup":
            return None
        from pytest_arena.plugin.scheduling import ArenaGroupScheduling, CellGroups, scheduled_workers

        groups = CellGroups(self.session.cells, scheduled_workers(config))
        return ArenaGroupScheduling(config, log, groups, {cell.name: cell.key for cell in self.session.cells})

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node) -> None:
        self.alive.add(node.gateway.id)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = getattr(report, "node", None)
        if node is None:
            return
        if report.when == "call":
            self.cells[node.gateway.id] = self.cells.get(node.gateway.id, 0) + 1
        elif report.when == "???":
            self.crashed[node.gateway.id] = self.crashed.get(node.gateway.id, 0) + 1

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_testnodedown(self, node, error) -> None:
        refused = refusal_line(error)
        if refused:
            # raised here, not through pytest.exit: xdist may hand pytest this exception with only
            # its raising frame, and pytest.exit's frame is hidden from the one-line report
            raise pytest.exit.Exception(f"host {describe(node)}: {refused}", returncode=pytest.ExitCode.USAGE_ERROR)
        self.alive.discard(node.gateway.id)
        if error:
            self._guard_replacement(node.config.pluginmanager.getplugin("dsession"))

    def _guard_replacement(self, dsession) -> None:
        """xdist replaces a dead worker by reconnecting to the same address; for a host that does
        not answer, that raises in xdist's loop (an INTERNALERROR ending the sweep) or, over ssh,
        dies again and again. Such a host is left down; the other hosts take its pending cells.
        With no host left, the session ends with the summary line."""
        if dsession is None or getattr(dsession, "_arena_guarded", False):
            return
        clone = dsession._clone_node

        def clone_unless_gone(node):
            if reachable(node.gateway.spec):
                try:
                    return clone(node)
                except (OSError, execnet.HostNotFound):
                    pass  # it stopped answering between the probe and the reconnection
            self.lost[node.gateway.id] = describe(node)
            if not self.alive:
                raise pytest.exit.Exception("no host left: " + " ".join(self.lost_lines()),
                                            returncode=pytest.ExitCode.TESTS_FAILED)
            return None

        dsession._clone_node = clone_unless_gone
        dsession._arena_guarded = True

    def lost_lines(self) -> list[str]:
        return [f"host {where} went away after {cells(self.cells.get(wid, 0))}; {cells(self.crashed.get(wid, 0))} got "
                f"infra_error rows; re-run them with --arena-resume or --lf" for wid, where in self.lost.items()]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        for line in self.lost_lines():
            terminalreporter.write_line(line, yellow=True, bold=True)

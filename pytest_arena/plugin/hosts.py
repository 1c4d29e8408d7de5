"""The controller's view of the hosts of a sweep (pytest-xdist workers over execnet).

- A host joins only if what makes its rows comparable matches the controller: the installed
  pytest-arena's version and content (a digest of its files, ``pytest_arena/sweep/digest.py``), the
  content of every task the sweep runs, the config's settings that can change a row (all but the
  operational ones, ``pytest_arena/sweep/measured.py``; the host's own ``hosts:`` entry is one of
  those), the installed version of every agent it runs, and the pricing table. A git sha is no part
  of it (a pip install or a copied tree has none; rows record it as provenance). The controller
  hands its fingerprint to each worker (``workerinput``, with each package file's sha and each
  setting, so that a difference names files and fields); a worker that differs stops in
  ``pytest_configure`` with ``WorkerRefused``, and the controller turns the worker's error into one
  line naming the host and the difference (no remote traceback) and ends the session.
- A host that goes away mid-sweep (its worker died and its address no longer answers) is not
  replaced by xdist, which would try to reconnect and stop the whole sweep with an INTERNALERROR;
  its pending cells go to the other hosts, and the summary says once what happened to it.
- With ``--dist loadgroup`` the controller schedules cells by local model (scheduling.py).
- Cloud keys a sweep's cells never use are taken out of the controller's environment before
  xdist starts workers, so no ``-n``/``popen`` worker inherits them (remote hosts never get the
  controller's environment; they use their own).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import execnet
import pytest

if TYPE_CHECKING:
    from pytest_arena.sweep.session import ArenaSession

FINGERPRINT_INPUT = "arena_fingerprint"
PACKAGE_FILES_INPUT = "arena_package_files"  # each file's sha, for naming the files that differ
SETTINGS_INPUT = "arena_config_settings"  # each setting, for naming the fields that differ
VERSION = "pytest-arena version"
PACKAGE = "pytest-arena package sha256"
PRICING = "pricing table sha256"
CONFIG = "config settings sha256"
AGENT = "agent "  # "agent <name>": its installed version
TASK = "task "  # "task <id>": the digest of its files and task.yaml
NOT_INSTALLED = "not installed"
MISSING = "missing"  # a task one side has and the other has not
NAMED = 3  # files or tasks a refusal names before "and N more"


# pytest marks UsageError final for type checkers, but its refusal is what a worker's must be: pytest
# prints a UsageError's message as one line, without a traceback.
class WorkerRefused(pytest.UsageError):  # type: ignore[misc]
    """A worker cannot join the sweep; its message is one line the controller shows as is."""


def fingerprint(session: ArenaSession) -> dict[str, str]:
    """What must be equal on every host for its rows to belong to the controller's experiment."""
    from pytest_arena.agents.registry import get_agent
    from pytest_arena.router.pricing import load_pricing
    from pytest_arena.sweep.digest import package_digest, task_digest
    from pytest_arena.sweep.pricing import pricing_table_path
    from pytest_arena.version import __version__

    prints = {
        VERSION: __version__,
        PACKAGE: package_digest().sha256,
        PRICING: load_pricing(pricing_table_path(session.config, session.project_root)).sha256,
        CONFIG: hashlib.sha256(json.dumps(config_settings(session), sort_keys=True).encode()).hexdigest(),
    }
    for agent in session.config.benchmark.agents:
        prints[AGENT + agent] = get_agent(agent).version(session.install_root) or NOT_INSTALLED
    for task_id in dict.fromkeys(cell.task_id for cell in session.cells):
        prints[TASK + task_id] = task_digest(session.registry.get(task_id))
    return prints


def config_settings(session: ArenaSession) -> dict[str, str]:
    """The config's settings that can change a row (every field but the operational ones: folders,
    ports, hosts, ...), each as JSON text by dotted path."""
    from pytest_arena.sweep.measured import kind, leaves

    return {path: json.dumps(value, sort_keys=True, default=lambda v: v.model_dump(mode="json"))
            for path, value in leaves(session.config).items() if kind(path) != "operational"}


def setting_differences(mine: Mapping[str, str], controller: Mapping[str, str]) -> str:
    """``benchmark.timeout_s 600 here, 300 there, ...``."""
    def shown(value: str | None) -> str:
        return "unset" if value is None else value if len(value) <= 40 else value[:39] + "…"

    return named([f"{path} {shown(mine.get(path))} here, {shown(controller.get(path))} there"
                  for path in sorted(mine.keys() | controller.keys()) if mine.get(path) != controller.get(path)])


def package_files() -> dict[str, str]:
    """Each file of this host's pytest-arena and its sha (what the controller hands workers)."""
    from pytest_arena.sweep.digest import package_digest

    return dict(package_digest().files)


def named(items: list[str]) -> str:
    """``a, b, c and 4 more``."""
    shown = ", ".join(items[:NAMED])
    return shown + (f" and {len(items) - NAMED} more" if len(items) > NAMED else "")


def file_differences(mine: Mapping[str, str], controller: Mapping[str, str]) -> str:
    """The package files that differ, each saying how: ``pytest_arena/x.py (changed), ...``."""
    how = {rel: "changed" for rel in mine.keys() & controller.keys() if mine[rel] != controller[rel]}
    how |= {rel: "only here" for rel in mine.keys() - controller.keys()}
    how |= {rel: "not here" for rel in controller.keys() - mine.keys()}
    return named([f"{rel} ({how[rel]})" for rel in sorted(how)])


def differences(mine: dict[str, str], controller: dict[str, str], *, mine_files: Mapping[str, str] | None = None,
                controller_files: Mapping[str, str] | None = None, mine_settings: Mapping[str, str] | None = None,
                controller_settings: Mapping[str, str] | None = None,
                task_roots: Mapping[str, Path] | None = None) -> list[str]:
    """What this host has that differs from the controller, each with what to do about it. An
    agent the controller has not installed is no reference (a controller need not run cells).
    With the package files (the settings) of both sides, a package (config) difference names the
    files (fields); with this host's task folders, a task difference says where the task is here."""
    found = []
    if mine.get(VERSION) != controller.get(VERSION):
        found.append(f"pytest-arena {mine.get(VERSION)} differs from the controller's {controller.get(VERSION)}; "
                     "install the same version there")
    elif mine.get(PACKAGE) != controller.get(PACKAGE):
        files = file_differences(mine_files, controller_files) if mine_files and controller_files else ""
        which = f" ({files})" if files else ""
        found.append(f"pytest-arena's files differ from the controller's{which}; install the same pytest-arena "
                     "there (the same wheel, or a copy of the controller's tree)")
    if mine.get(CONFIG) != controller.get(CONFIG):
        fields = (setting_differences(mine_settings, controller_settings)
                  if mine_settings and controller_settings else "")
        which = f" ({fields})" if fields else ""
        found.append(f"the config's settings differ from the controller's{which}; use the same config there "
                     "(only hosts: and operational fields such as out_dir may differ)")
    if mine.get(PRICING) != controller.get(PRICING):
        found.append(f"the {PRICING} {str(mine.get(PRICING))[:12]}… differs from the controller's "
                     f"{str(controller.get(PRICING))[:12]}…; use the same table there (pricing.table or "
                     "router/data/pricing.json)")
    for name, theirs in controller.items():
        ours = mine.get(name, NOT_INSTALLED)
        if name.startswith(AGENT) and ours != theirs and theirs != NOT_INSTALLED:
            agent = name.removeprefix(AGENT)
            found.append(f"agent {agent} {ours} differs from the controller's {theirs}; install the same version "
                         f"there (python -m pytest_arena setup --agents {agent})")
    tasks = sorted({name.removeprefix(TASK) for name in (*mine, *controller) if name.startswith(TASK)
                    and mine.get(name, MISSING) != controller.get(name, MISSING)})
    if tasks:
        where = [str(task_roots[t]) for t in tasks if task_roots and t in task_roots]
        folder = f" (here: {os.path.commonpath(where) if len(where) > 1 else where[0]})" if where else ""
        found.append(f"task{'s' if len(tasks) > 1 else ''} {named(tasks)} "
                     f"differ{'' if len(tasks) > 1 else 's'} from the controller's{folder}; sync the tasks "
                     "folder there with the controller's")
    return found


def check_worker(session: ArenaSession, workerinput: dict) -> None:
    """On a worker: refuse to run when this host differs from the controller."""
    controller = workerinput.get(FINGERPRINT_INPUT)
    if controller is None:
        return
    roots = {task_id: task.root for task_id, task in session.registry.tasks.items()}
    found = differences(fingerprint(session), controller, mine_files=package_files(),
                        controller_files=workerinput.get(PACKAGE_FILES_INPUT), mine_settings=config_settings(session),
                        controller_settings=workerinput.get(SETTINGS_INPUT), task_roots=roots)
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
        node.workerinput[PACKAGE_FILES_INPUT] = package_files()
        node.workerinput[SETTINGS_INPUT] = config_settings(self.session)

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

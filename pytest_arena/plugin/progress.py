"""Live progress of a sweep: which cells run now, what they have cost, how much is left.

One part per process role:

- ``CellWatch`` (every process that runs cells, one cell at a time): the cell it runs now and,
  once the cell's router run is registered, that run's calls, tokens and cost so far, read from
  the router's ledger sums once per tick (no work per LLM call). An xdist worker on the
  controller's machine publishes it as a small JSON file (temp + ``os.replace``) in a folder the
  controller names; a worker on another host publishes nothing, and the controller shows what
  its reports say (the cell, and since when).
- ``SweepProgress`` (the controller, a plugin object): planned cells, rows by outcome, running
  cells; keeps ``<out_dir>/status.json`` current and shows the running cells under pytest's own
  output, redrawn in place on a terminal, as plain lines on a pipe (at each cell's start and
  finish, and every ``--arena-progress-interval`` seconds). Ctrl-C (or SIGTERM) ends the session
  as *interrupted*: the cells in flight get no row (resume re-runs them) and the analysis is
  skipped, so the session ends within a second or two.

Elsewhere: status.json's format and the ``status`` command in ``plugin.status``; the terminal
drawing in ``plugin.terminal``.
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, cast

import pytest

from pytest_arena.cell.handoff import CELL_PROPERTY, ROW_PROPERTY, read_payload
from pytest_arena.plugin.status import (
    STATUS_FILE,
    STATUS_SCHEMA,
    cell_line,
    cell_name,
    elapsed,
    now_iso,
    outcome_counts,
    running_entry,
    write_json_atomic,
)
from pytest_arena.plugin.terminal import TerminalProxy

TICK_S = 1.0  # status.json, the worker files and the live display are refreshed this often
PROGRESS_INPUT = "arena_progress"  # workerinput: where a worker on this host publishes its cell
MAX_LINES = 12  # running cells drawn on a terminal; the rest are counted

# --------------------------------------------------------------------------- the running cell


class CellWatch:
    """The cell this process runs now. One per process: a pytest process runs one cell at a
    time (an xdist worker is a process of its own)."""

    def __init__(self) -> None:
        self._now: dict | None = None  # swapped whole, so the tick thread reads a consistent one
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self, node_id: str, cell, worker: str) -> None:
        self._now = {"entry": running_entry(node_id, cell, time.time(), worker, socket.gethostname()),
                     "run_id": None, "router": None, "last": None}

    def routed(self, run_id: str, router) -> None:
        """The runner registered the cell's router run: its calls and cost can be read now."""
        now = self._now
        if now is not None:
            now["run_id"], now["router"] = run_id, router

    def end(self) -> None:
        self._now = None

    def snapshot(self) -> dict | None:
        now = self._now
        if now is None:
            return None
        entry = dict(now["entry"])
        totals = now["last"]
        if now["router"] is not None:
            try:
                fresh = now["router"].totals_so_far(now["run_id"])
            except Exception:  # noqa: BLE001 - router busy or closing: the last figures stand
                fresh = None
            if fresh is not None and (fresh.calls or fresh.router_calls or totals is None):
                totals = now["last"] = fresh  # a finished run reads empty: keep what it had
        if totals is not None:
            entry.update(calls_local=totals.local_calls, calls_cloud=totals.cloud_calls,
                         tokens=totals.prompt + totals.completion, cost_usd=round(totals.cost_usd, 6))
        return entry

    def publish(self, folder: Path, worker: str) -> None:
        """Write this process's running cell to ``folder/<worker>.json`` every tick (an xdist
        worker, for its controller on the same machine)."""
        path = folder / f"{worker}.json"

        def loop() -> None:
            while not self._stop.wait(TICK_S):
                entry = self.snapshot()
                try:
                    if entry is None:
                        path.unlink(missing_ok=True)
                    else:
                        write_json_atomic(path, entry)
                except OSError:  # the controller removed the folder at its end
                    return

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="arena-progress-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None


WATCH = CellWatch()


def is_ctrl_c(exc: BaseException) -> bool:
    """Ctrl-C or SIGTERM, not the KeyboardInterrupt subclasses pytest and xdist raise to stop a
    session themselves (``session.shouldstop``, xdist's maxfail). A terminal's Ctrl-C reaches the
    workers too, and when a worker's report of it is handled before the controller's own signal,
    xdist raises its Interrupted ("[gwN] node received keyboard-interrupt"): that is the same Ctrl-C."""
    return type(exc) is KeyboardInterrupt or (isinstance(exc, KeyboardInterrupt)
                                              and str(exc).endswith("received keyboard-interrupt"))


def _cell_of(item):
    return getattr(getattr(item, "callspec", None), "params", {}).get("arena_cell")


class CellTimer:
    """Tells the process's watch which cell runs (registered in every process that runs cells)."""

    def __init__(self, worker: str, fulltrace: bool) -> None:
        self.worker = worker
        self.fulltrace = fulltrace

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo) -> None:
        """pytest renders the whole traceback of a Ctrl-C (parsing the source of every frame: a
        second or more on a busy machine, in the controller and in each worker) to print its last
        line; keep just that line unless --full-trace asks for all of it."""
        if self.fulltrace or not is_ctrl_c(excinfo.value):
            return  # pytest.exit() and a stopped session keep pytest's own report
        entries = excinfo.traceback
        shown = [i for i, entry in enumerate(entries)
                 if not (entry.frame.f_locals.get("__tracebackhide__")
                         or entry.frame.f_globals.get("__tracebackhide__"))]
        if shown:  # the line pytest prints is the last frame that does not hide itself
            excinfo.traceback = entries[shown[-1]:shown[-1] + 1]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        cell = _cell_of(item)
        if cell is not None:
            WATCH.begin(item.nodeid, cell, self.worker)
        try:
            return (yield)
        finally:
            WATCH.end()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        WATCH.stop()


def register(config: pytest.Config, session, worker: str) -> None:
    """Hook progress into a pytest process: the watch everywhere, the sweep's view on the
    controller (not for --collect-only), publishing on a worker of the controller's machine."""
    config.pluginmanager.register(CellTimer(worker, config.option.fulltrace), "arena-progress-cell")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        target = workerinput.get(PROGRESS_INPUT)
        if target and target["host"] == socket.gethostname() and Path(target["folder"]).is_dir():
            WATCH.publish(Path(target["folder"]), worker)
        return
    if not config.getoption("collectonly"):
        config.pluginmanager.register(SweepProgress(session, config), "arena-progress")


# --------------------------------------------------------------------------- the controller


class SweepProgress:
    """The controller's view of the sweep: status.json and the progress lines."""

    def __init__(self, arena, config: pytest.Config):
        self.arena = arena
        self.config = config
        self.cells = {cell.name: cell for cell in arena.cells}
        self.status_path = arena.out_dir / STATUS_FILE
        self.planned: int | None = None
        self.resumed = 0
        self.done: Counter[str] = Counter()
        self.done_cost = 0.0
        self.running: dict[str, dict] = {}  # node id -> running entry (from the setup report)
        self.resuming = set(arena.finished_cells())  # skipped, not started (empty unless resuming)
        self.interrupted_cells: list[dict] = []
        self.state = "running"
        self.stop_reason: str | None = None
        self.workers: set[str] = set()
        self.worker_folder: Path | None = None
        self.started = time.time()
        self.mode = config.getoption("arena_progress")
        self.interval = config.getoption("arena_progress_interval")
        self.terminal: TerminalProxy | None = None
        self._last_plain = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the tick thread and the hooks share the counters
        self._old_sigterm: Callable[[int, FrameType | None], Any] | int | signal.Handlers | None = None

    # ---------------------------------------------------------------- lifecycle hooks
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self.mode != "off":
            tty = bool(getattr(reporter._tw._file, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"
            live = self.mode == "live" or (self.mode == "auto" and tty)
            self.terminal = TerminalProxy(reporter._tw, live=live)
        self._sigterm_pauses()
        self.write_status()
        self._thread = threading.Thread(target=self._loop, name="arena-progress", daemon=True)
        self._thread.start()

    def _sigterm_pauses(self) -> None:
        """``kill <pid>`` (SIGTERM, also what systemd and ``timeout`` send) pauses the sweep like
        Ctrl-C: agents stopped, rows kept, resumable. By default it would kill Python outright
        and leave the agents (each in its own process group) running."""
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            def interrupt(signum, frame):
                raise KeyboardInterrupt("SIGTERM")

            self._old_sigterm = signal.signal(signal.SIGTERM, interrupt)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.planned = sum(1 for item in session.items if _cell_of(item) is not None)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        """xdist, for each worker: the folder where a worker on this machine publishes its cell."""
        if self.worker_folder is None:
            self.worker_folder = self.arena.host_dir / "progress" / str(os.getpid())
            self.worker_folder.mkdir(parents=True, exist_ok=True)
        node.workerinput[PROGRESS_INPUT] = {"folder": str(self.worker_folder), "host": socket.gethostname()}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.workers.add(node.gateway.id)
        if self.planned is None:
            self.planned = sum(1 for i in ids if i.rpartition("::")[2] in self.cells)

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        if not is_ctrl_c(excinfo.value):
            return  # a session that stopped itself (pytest's or xdist's Interrupted): sessionfinish says so
        self.state = "interrupted"
        self.stop_reason = "SIGTERM" if "SIGTERM" in str(excinfo.value) else "Ctrl-C"
        self.interrupted_cells = self.running_cells()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport):
        # before the row collector takes the hand-off payload away, and before pytest writes the
        # cell's result: the re-written line then carries no result twice
        lines = self._account(report)
        if lines and self.terminal is not None and not self.terminal.live:
            self.terminal.print_lines(lines)
        return (yield)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        stopped = session.shouldstop or session.shouldfail
        if self.state == "interrupted":  # pytest_keyboard_interrupt said so and took the cells in flight
            pass
        elif stopped or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            self.state, self.stop_reason = "stopped", str(stopped or f"pytest exit status {int(exitstatus)}")
        else:
            self.state = "finished"
        self.write_status()
        if self.terminal is not None:
            self.terminal.restore()
            self.terminal = None
        if self.worker_folder is not None:
            import shutil

            shutil.rmtree(self.worker_folder, ignore_errors=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.terminal is not None:
            self.terminal.restore()
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)

    # ---------------------------------------------------------------- accounting
    def _account(self, report: pytest.TestReport) -> list[str]:
        """Count one report; the plain lines it is worth (a cell started, a cell finished)."""
        props = dict(report.user_properties)
        name = report.nodeid.rpartition("::")[2]
        if name not in self.cells:
            return []
        now = time.time()
        with self._lock:
            if report.when == "setup" and report.passed and CELL_PROPERTY in props:
                prov = json.loads(cast(str, props[CELL_PROPERTY]))["provenance"]
                started = running_entry(report.nodeid, self.cells[name], now, prov["worker"], prov["host"])
                self.running[report.nodeid] = started
                if started["cell_key"] in self.resuming:
                    return []
                return [f"arena: started {cell_name(started)} [{started['worker']}]"]
            finished = report.when == "???" or report.when == "call" or (report.when == "setup" and not report.passed)
            if not finished:
                return []
            entry = self.running.pop(report.nodeid, None)
            if report.skipped:
                self.resumed += 1
                return []
            cost = 0.0
            if ROW_PROPERTY in props:
                row = read_payload(cast(str, props[ROW_PROPERTY]))[0]
                outcome, cost = row["outcome"], float(row.get("cost_usd") or 0.0)
            else:  # a worker that died under its cell, or a cell that could not start
                outcome = "infra_error" if report.when == "???" else "error"
            self.done[outcome] += 1
            self.done_cost += cost
            took = f" in {elapsed(now - entry['started'])}" if entry else ""
            entry = entry or running_entry(report.nodeid, self.cells[name], now, "", "")
            return [f"arena: finished {cell_name(entry)}: {outcome}{took}, ${cost:.4f} · {self.header()}"]

    def running_cells(self) -> list[dict]:
        """Running cells with the figures their processes publish (this process's own watch, the
        worker files), else as the controller knows them from the setup reports."""
        with self._lock:
            entries = {node: dict(entry) for node, entry in self.running.items()}
        reported = [WATCH.snapshot()]
        if self.worker_folder is not None:
            for path in self.worker_folder.glob("*.json"):
                try:
                    reported.append(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    continue  # gone between glob and read
        for live in reported:
            if live and live.get("node_id") in entries:
                known = entries[live["node_id"]]
                known.update({k: live[k] for k in ("calls_local", "calls_cloud", "tokens", "cost_usd")})
        return sorted(entries.values(), key=lambda e: e["started"])

    def left(self) -> int | None:
        if self.planned is None:
            return None
        return max(0, self.planned - self.resumed - sum(self.done.values()))

    def header(self, running: list[dict] | None = None) -> str:
        done = sum(self.done.values())
        cost = self.done_cost + sum(e["cost_usd"] or 0.0 for e in running or [])
        parts = [f"{done} done" + (f" ({outcome_counts(self.done)})" if done else "")]
        if self.left() is not None:
            parts.append(f"{self.left()} left")
        if running is not None:
            parts.append(f"{len(running)} running")
        if self.resumed:
            parts.append(f"{self.resumed} resumed")
        parts.append(f"${cost:.4f} so far")
        return " · ".join(parts)

    # ---------------------------------------------------------------- the tick
    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - progress must never take the sweep down
                continue

    def tick(self) -> None:
        running = self.running_cells()
        self.write_status(running)
        if self.terminal is None:
            return
        now = time.time()
        lines = [f"arena: {self.header(running)} · {elapsed(now - self.started)}"]
        shown = running[:MAX_LINES]
        lines += [f"  {cell_line(entry, now)}" for entry in shown]
        if len(running) > len(shown):
            lines.append(f"  ... and {len(running) - len(shown)} more")
        if self.terminal.live:
            self.terminal.draw(lines)
        elif running and time.monotonic() - self._last_plain >= self.interval:
            self._last_plain = time.monotonic()
            self.terminal.print_lines(lines)

    def write_status(self, running: list[dict] | None = None) -> None:
        running = self.running_cells() if running is None else running
        data = {
            "schema": STATUS_SCHEMA, "schema_version": 1, "state": self.state, "stop_reason": self.stop_reason,
            "pid": os.getpid(), "host": socket.gethostname(), "started_at": self.arena.started_at,
            "updated_at": now_iso(), "config": str(self.arena.config_path),
            "variant_tag": self.arena.config.variant_tag,
            "resume_command": resume_command(self.config), "workers": max(1, len(self.workers)),
            "planned": self.planned, "resumed": self.resumed, "done": dict(self.done),
            "cost_usd": round(self.done_cost + sum(e["cost_usd"] or 0.0 for e in running), 6),
            "running": running if self.state == "running" else [],
            "interrupted": self.interrupted_cells,
        }
        try:
            self.status_path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.status_path, data)
        except OSError:
            pass  # a read-only or vanished results folder must not stop the sweep

    def interrupt_summary(self) -> str:
        """What an interrupted session says instead of the analysis."""
        cells = self.interrupted_cells
        flight = (f"; {len(cells)} cell(s) in flight got no row (their calls are in {self.arena.out_dir / 'ledger'})"
                  if cells else "")
        return "\n".join([
            f"pytest-arena: interrupted ({self.stop_reason}): {self.header()}, "
            f"rows in {self.arena.store.raw_path}{flight}.",
            f"Reports were not computed: python -m pytest_arena analyze {self.arena.out_dir}",
            f"resume: {resume_command(self.config)}",
        ])


def resume_command(config: pytest.Config) -> str:
    """The session's own command line with --arena-resume: resuming runs what has no row yet."""
    args = [a for a in config.invocation_params.args if a != "--arena-resume"]
    return shlex.join(["pytest", *args, "--arena-resume"])


def interrupted(config: pytest.Config) -> SweepProgress | None:
    """The controller's progress if this session was interrupted (Ctrl-C or SIGTERM)."""
    progress = config.pluginmanager.get_plugin("arena-progress")
    return progress if progress is not None and progress.state == "interrupted" else None

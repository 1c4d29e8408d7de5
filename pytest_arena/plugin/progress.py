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
- ``python -m pytest_arena status OUT_DIR``: the sweep of a results folder, from another
  terminal, running or not (status.json and raw.jsonl; a killed run shows as stopped).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_arena.cell.handoff import CELL_PROPERTY, ROW_PROPERTY, read_payload
from pytest_arena.cell.results import RAW, read_jsonl

STATUS_FILE = "status.json"
STATUS_SCHEMA = "pytest-arena/status"
TICK_S = 1.0  # status.json, the worker files and the live display are refreshed this often
PROGRESS_INPUT = "arena_progress"  # workerinput: where a worker on this host publishes its cell
STALE_S = 30.0  # a "running" status.json not rewritten for this long: its process may be hung
MAX_LINES = 12  # running cells drawn on a terminal; the rest are counted


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def write_json_atomic(path: Path, data: dict) -> None:
    """Readers never see half a file: write a temporary file beside it, then rename over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def running_entry(node_id: str, cell, started: float, worker: str, host: str) -> dict:
    """A running cell as status.json and the worker files hold it; the figures stay None until
    the process that runs it reports them."""
    return {"node_id": node_id, "cell_key": cell.key if cell else None, "task": cell.task_id if cell else node_id,
            "agent": cell.agent if cell else "?", "strategy": cell.strategy_point if cell else "?",
            "seed": cell.seed if cell else None, "worker": worker, "host": host, "started": started,
            "calls_local": None, "calls_cloud": None, "tokens": None, "cost_usd": None}


def _elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def cell_name(entry: dict) -> str:
    return f"{entry['task']} · {entry['agent']} · {entry['strategy']}" + (
        f" · s{entry['seed']}" if entry.get("seed") is not None else "")


def cell_line(entry: dict, now: float) -> str:
    """One running cell: what it is, how long it runs, what it has called and cost so far."""
    name = cell_name(entry)
    where = f"[{entry['worker']}]" if entry.get("worker") else ""
    if entry.get("cost_usd") is None:
        figures = "calls and cost come with its row"
    else:
        figures = (f"calls {entry['calls_local']} local / {entry['calls_cloud']} cloud · "
                   f"{entry['tokens']:,} tokens · ${entry['cost_usd']:.4f}")
    return f"{name} · {_elapsed(now - entry['started'])} · {figures} {where}".rstrip()


def _outcomes(done: Counter) -> str:
    return ", ".join(f"{outcome} {n}" for outcome, n in sorted(done.items(), key=lambda kv: (-kv[1], kv[0])))


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
    session themselves (``session.shouldstop``, xdist's maxfail)."""
    return type(exc) is KeyboardInterrupt


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
                 if not (entry.frame.f_locals.get("__tracebackhide__") or entry.frame.f_globals.get("__tracebackhide__"))]
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


# --------------------------------------------------------------------------- the terminal


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]")


class _TerminalProxy:
    """Stands in for the file pytest's terminal writer writes to, so that pytest's output and the
    progress lines never interleave mid-write and pytest's idea of its current line stays true.
    On a terminal it keeps a block of live lines under pytest's current line (erased before pytest
    writes, redrawn on the next tick); on a pipe it prints plain lines and then pytest's
    unfinished line again, so pytest's letters go on where it expects them.

    The progress lines go to a duplicate of pytest's own output descriptor, taken while pytest's
    output capture is off: during a cell pytest captures descriptor 1 for the test, and lines
    written there would land in the cell's captured output instead of on the screen."""

    def __init__(self, writer, live: bool):
        self.writer = writer
        self.file = writer._file
        self.live = live
        try:
            self.out = open(os.dup(self.file.fileno()), "w", encoding=getattr(self.file, "encoding", None) or "utf-8",
                            errors="replace", closefd=True)
        except (AttributeError, OSError, ValueError):  # not a real descriptor (an in-process pytester run)
            self.out = self.file
        self.lock = threading.RLock()
        self.tail = ""  # what pytest wrote after its last newline (the cursor's column)
        self.drawn = 0  # lines of the block on screen
        writer._file = self

    def write(self, text: str) -> int:
        with self.lock:
            self._erase()
            written = self.file.write(text)
            self.tail = text.rsplit("\n", 1)[-1] if "\n" in text else self.tail + text
            return written

    def flush(self) -> None:
        self.file.flush()

    def __getattr__(self, name: str):
        return getattr(self.file, name)

    def _erase(self) -> None:
        if self.drawn:
            # save the cursor (end of pytest's line), clear everything below it, come back
            self.out.write("\x1b7\x1b[1B\r\x1b[J\x1b8")
            self.out.flush()
            self.drawn = 0

    def draw(self, lines: list[str]) -> None:
        """Draw ``lines`` under pytest's current line and put the cursor back where pytest left it."""
        with self.lock:
            self._erase()
            if not lines:
                return
            width = max(20, self._width() - 1)  # a wrapped line would break the block's height
            lines = [line[:width] for line in lines]
            column = len(ANSI.sub("", self.tail)) + 1
            # make room first (scrolls if needed), then draw inside it with the cursor saved
            out = ["\n" * len(lines), f"\x1b[{len(lines)}A\x1b[{column}G\x1b7"]
            out += [f"\x1b[1B\r{line}\x1b[K" for line in lines]
            out.append("\x1b8")
            self.file.flush()  # pytest's own text first
            self.out.write("".join(out))
            self.out.flush()
            self.drawn = len(lines)

    def _width(self) -> int:
        """The terminal's width, asked of our own descriptor: pytest's (1) is a capture file mid-cell."""
        try:
            columns = os.get_terminal_size(self.out.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
        return columns or self.writer.fullwidth  # 0: a terminal that never said its size

    def print_lines(self, lines: list[str]) -> None:
        with self.lock:
            self.file.flush()
            self.out.write(("\n" if self.tail else "") + "\n".join(lines) + "\n" + self.tail)
            self.out.flush()

    def restore(self) -> None:
        with self.lock:
            self._erase()
            self.writer._file = self.file
            if self.out is not self.file:
                self.out.close()
                self.out = self.file


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
        self.terminal: _TerminalProxy | None = None
        self._last_plain = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the tick thread and the hooks share the counters
        self._old_sigterm = None

    # ---------------------------------------------------------------- lifecycle hooks
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self.mode != "off":
            tty = bool(getattr(reporter._tw._file, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"
            live = self.mode == "live" or (self.mode == "auto" and tty)
            self.terminal = _TerminalProxy(reporter._tw, live=live)
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
                prov = json.loads(props[CELL_PROPERTY])["provenance"]
                entry = running_entry(report.nodeid, self.cells[name], now, prov["worker"], prov["host"])
                self.running[report.nodeid] = entry
                return [] if entry["cell_key"] in self.resuming else [f"arena: started {cell_name(entry)} [{entry['worker']}]"]
            finished = report.when == "???" or report.when == "call" or (report.when == "setup" and not report.passed)
            if not finished:
                return []
            entry = self.running.pop(report.nodeid, None)
            if report.skipped:
                self.resumed += 1
                return []
            cost = 0.0
            if ROW_PROPERTY in props:
                row = read_payload(props[ROW_PROPERTY])[0]
                outcome, cost = row["outcome"], float(row.get("cost_usd") or 0.0)
            else:  # a worker that died under its cell, or a cell that could not start
                outcome = "infra_error" if report.when == "???" else "error"
            self.done[outcome] += 1
            self.done_cost += cost
            took = f" in {_elapsed(now - entry['started'])}" if entry else ""
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
        parts = [f"{done} done" + (f" ({_outcomes(self.done)})" if done else "")]
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
        lines = [f"arena: {self.header(running)} · {_elapsed(now - self.started)}"]
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
            "updated_at": _now_iso(), "config": str(self.arena.config_path), "variant_tag": self.arena.config.variant_tag,
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
            f"pytest-arena: interrupted ({self.stop_reason}): {self.header()}, rows in {self.arena.store.raw_path}{flight}.",
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


# --------------------------------------------------------------------------- status command


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse_time(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp() if text else None
    except ValueError:
        return None


def _state_line(status: dict, now: float) -> tuple[str, bool]:
    """(the state in words, whether the sweep is still running)."""
    state, pid, host = status.get("state"), status.get("pid"), status.get("host")
    updated = _parse_time(status.get("updated_at"))
    age = f"last update {_elapsed(now - updated)} ago" if updated else "never updated"
    if state == "running":
        if host != socket.gethostname():
            return f"running on {host} (pid {pid}; not checked from here, {age})", True
        if not isinstance(pid, int) or not _pid_alive(pid):
            return f"stopped (process gone: pid {pid} is not running; {age})", False
        if updated is not None and now - updated > STALE_S:
            return f"running? (pid {pid} exists but has not updated status.json for {_elapsed(now - updated)})", True
        return f"running (pid {pid} on {host})", True
    reason = f" ({status['stop_reason']})" if status.get("stop_reason") else ""
    return f"{state}{reason}, {age}", False


def status_text(out_dir: Path) -> tuple[str, int]:
    """The sweep of a results folder in a few lines, and the exit code (2: not a results folder)."""
    status_path, raw_path = out_dir / STATUS_FILE, out_dir / RAW
    if not out_dir.is_dir():
        return f"{out_dir}: no such folder", 2
    if not status_path.is_file() and not raw_path.is_file():
        return (f"{out_dir}: not a pytest-arena results folder (no {STATUS_FILE} or {RAW}); pass a sweep's "
                "out_dir (the config's out_dir, or --arena-out)"), 2
    status: dict = {}
    if status_path.is_file():
        try:
            status = json.loads(status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"{status_path}: unreadable ({exc}); delete it, the next run writes a new one", 2
        if not isinstance(status, dict) or status.get("schema") != STATUS_SCHEMA:
            return f"{status_path}: not a pytest-arena status file (no schema {STATUS_SCHEMA!r})", 2
    rows, _ = read_jsonl(raw_path)
    now = time.time()
    since = status.get("started_at") or ""
    session_rows = [r for r in rows if (r.get("started_at") or "") >= since]
    done = Counter(str(r.get("outcome") or "?") for r in session_rows)
    cost = sum(float(r.get("cost_usd") or 0.0) for r in session_rows)
    lines = []
    if not status:
        lines.append(f"{out_dir}: no {STATUS_FILE} (written by sweeps since live status exists); {len(rows)} rows:")
        lines.append(f"  cells: {sum(done.values())} done ({_outcomes(done)}) · ${cost:.4f}")
        return "\n".join(lines), 0
    state, alive = _state_line(status, now)
    lines.append(f"{out_dir}: {state}")
    started = _parse_time(status.get("started_at"))
    if started:
        lines.append(f"  started {datetime.fromtimestamp(started).strftime('%Y-%m-%d %H:%M:%S')} "
                     f"({_elapsed(now - started)} ago) · {status.get('config')}")
    planned, resumed = status.get("planned"), int(status.get("resumed") or 0)
    left = None if planned is None else max(0, planned - resumed - sum(done.values()))
    parts = [f"{sum(done.values())} done" + (f" ({_outcomes(done)})" if done else "")]
    if left is not None:
        parts.append(f"{left} left of {planned - resumed}")
    if resumed:
        parts.append(f"{resumed} resumed (rows from before)")
    lines.append("  cells: " + " · ".join(parts))
    running = status.get("running") or []
    if running and alive:
        lines.append(f"  running ({len(running)}):")
        lines += [f"    {cell_line(entry, now)}" for entry in running]
    elif running or status.get("interrupted"):
        cells = running or status.get("interrupted")
        lines.append(f"  in flight when it stopped, no row (resume re-runs them): {len(cells)}")
        lines += [f"    {cell_name(entry)}" for entry in cells]
    running_cost = sum(e.get("cost_usd") or 0.0 for e in running) if alive else 0.0
    lines.append(f"  cost so far: ${cost + running_cost:.4f}" + (
        f" (rows ${cost:.4f} + running cells ${running_cost:.4f})" if running_cost else ""))
    if alive and left:
        walls = [r["latency"]["wall_ms"] / 1000 for r in (session_rows or rows)
                 if isinstance(r.get("latency"), dict) and r["latency"].get("wall_ms")]
        workers = max(1, int(status.get("workers") or 1))
        if walls:
            median = statistics.median(walls)
            lines.append(f"  ETA: about {_elapsed(median * left / workers)} (median {median:.1f} s per cell "
                         f"× {left} left / {workers} worker{'s' if workers > 1 else ''})")
        else:
            lines.append("  ETA: after the first cell finishes")
    if not alive and (left or status.get("state") == "interrupted"):
        lines.append(f"  resume: {status.get('resume_command')}")
    return "\n".join(lines), 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_arena status",
                                     description="Show a sweep's state: cells done and left, running cells, cost, ETA.")
    parser.add_argument("out_dir", type=Path, help="the sweep's results folder (its config's out_dir or --arena-out)")
    args = parser.parse_args(argv)
    text, code = status_text(args.out_dir)
    print(text, file=sys.stderr if code else sys.stdout)
    return code

"""A sweep's state in a file and on demand: ``<out_dir>/status.json`` (its format and the lines
that describe a running cell) and ``python -m pytest_arena status OUT_DIR``, which reads a results
folder from another terminal, running or not (status.json and raw.jsonl; a killed run shows as
stopped). The live display (``plugin.progress``) writes the file; this module only reads and formats.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from pytest_arena.cell.results import RAW
from pytest_arena.jsonl import read_jsonl

STATUS_FILE = "status.json"
STATUS_SCHEMA = "pytest-arena/status"
STALE_S = 30.0  # a "running" status.json not rewritten for this long: its process may be hung

def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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


def elapsed(seconds: float) -> str:
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
    return f"{name} · {elapsed(now - entry['started'])} · {figures} {where}".rstrip()


def outcome_counts(done: Counter) -> str:
    return ", ".join(f"{outcome} {n}" for outcome, n in sorted(done.items(), key=lambda kv: (-kv[1], kv[0])))


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
    age = f"last update {elapsed(now - updated)} ago" if updated else "never updated"
    if state == "running":
        if host != socket.gethostname():
            return f"running on {host} (pid {pid}; not checked from here, {age})", True
        if not isinstance(pid, int) or not _pid_alive(pid):
            return f"stopped (process gone: pid {pid} is not running; {age})", False
        if updated is not None and now - updated > STALE_S:
            return f"running? (pid {pid} exists but has not updated status.json for {elapsed(now - updated)})", True
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
        lines.append(f"  cells: {sum(done.values())} done ({outcome_counts(done)}) · ${cost:.4f}")
        return "\n".join(lines), 0
    state, alive = _state_line(status, now)
    lines.append(f"{out_dir}: {state}")
    started = _parse_time(status.get("started_at"))
    if started:
        lines.append(f"  started {datetime.fromtimestamp(started).strftime('%Y-%m-%d %H:%M:%S')} "
                     f"({elapsed(now - started)} ago) · {status.get('config')}")
    planned, resumed = status.get("planned"), int(status.get("resumed") or 0)
    left = None if planned is None else max(0, planned - resumed - sum(done.values()))
    parts = [f"{sum(done.values())} done" + (f" ({outcome_counts(done)})" if done else "")]
    if planned is not None:  # so left is too
        parts.append(f"{left} left of {planned - resumed}")
    if resumed:
        parts.append(f"{resumed} resumed (rows from before)")
    lines.append("  cells: " + " · ".join(parts))
    running = status.get("running") or []
    if running and alive:
        lines.append(f"  running ({len(running)}):")
        lines += [f"    {cell_line(entry, now)}" for entry in running]
    elif running or status.get("interrupted"):
        cells = running or status.get("interrupted") or []
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
            lines.append(f"  ETA: about {elapsed(median * left / workers)} (median {median:.1f} s per cell "
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

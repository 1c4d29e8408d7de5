"""Multi-host sweeps: how much faster a sweep of model-bound cells goes on 1, 2 and 4 execnet
workers, and what the controller itself costs.

Real sweeps wait on their model: seconds per call, a few to hundreds of calls per cell, next to
little CPU. So the cells here are model-bound: each worker is a host with its own local model (the
fake Ollama of tests/fakes, speaking Ollama's protocol on loopback, behind a wrapper that holds
every inference call ``CALL_S`` seconds on an asyncio timer: no CPU), reached through that
worker's own host settings (``hosts.workers.gwN.local_base_url``); the agent (``talker``, in the
project's conftest) runs a process in the cell's agent sandbox, as real agents do, which makes
``CALLS`` chat calls through the real router (its run-scoped URL and token), then applies the
reference solution, so every cell is scored and passes. One project, the same sweep (TASKS x
SEEDS cells, always-local) with ``-n 1``, ``-n 2`` and ``-n 4`` (popen gateways), the worker counts
in alternating order per repeat so that all meet the same machine load.

Per worker count: cells per hour (cells / wall time of the whole ``pytest`` run, start-up and
the start-of-session reference checks included) and its ratio against ``-n 1`` in the same repeat,
median and range over repeats; the controller process's own CPU seconds (its ``getrusage``,
written by the project's conftest at ``pytest_unconfigure``) and the whole sweep's (every process
the run waited for: controller, workers, agents, scoring). Then what the controller does per host
and per row: the host fingerprint (the package digest, cold, and the task digests), and
``ResultsStore.accept`` rows per second on real hand-off payloads.

    /work/venvs/locked/bin/python benchmarks/multihost.py [REPEATS]   # default 2, about 4 minutes
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.core.arena_project import make_task  # noqa: E402
from tests.fakes.fake_ollama import create_app  # noqa: E402

CALL_S = 1.5  # each model call
CALLS = 3  # per cell
TASKS = ("adder", "multiplier", "summer", "counter")
SEEDS = (1, 2)
WORKERS = (1, 2, 4)
MODEL = "model-a"

CONFTEST = '''
import json
import os
import resource
import urllib.request
from pathlib import Path

from pytest_arena.agents.base import AgentAdapter
from pytest_arena.agents.process import agent_result, base_env, run_process
from pytest_arena.agents.registry import register_agent
from pytest_arena.sandbox.run import base_python

CALLS = """
import json, os, urllib.request
for i in range(int(os.environ["TALKER_CALLS"])):
    body = {"model": os.environ["TALKER_MODEL"], "stream": False,
            "messages": [{"role": "user", "content": f"step {i}: make the tests pass"}]}
    req = urllib.request.Request(os.environ["TALKER_BASE"] + "/api/chat", data=json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + os.environ["TALKER_TOKEN"],
                                          "Content-Type": "application/json"})
    print(json.loads(urllib.request.urlopen(req, timeout=120).read())["message"]["content"][:40], flush=True)
"""


class Talker(AgentAdapter):
    """A process in the cell's agent sandbox making TALKER_CALLS chats through the router, then the reference."""
    name = "talker"
    uses_llm = True

    def version(self, install_root):
        return "talker-1"

    def install_command(self, install_root):
        return "(benchmark agent)"

    def run(self, ctx):
        env = base_env(ctx.home, {"TALKER_CALLS": os.environ["TALKER_CALLS"], "TALKER_MODEL": ctx.endpoints.model,
                                  "TALKER_BASE": ctx.endpoints.ollama_base, "TALKER_TOKEN": ctx.endpoints.api_key})
        result = run_process([base_python(), "-c", CALLS], cwd=ctx.workspace, env=env, timeout_s=ctx.timeout_s,
                             log_dir=ctx.log_dir, name="talker", sandbox=ctx.sandbox)
        if result.exit_code == 0:
            for rel, content in ctx.task.files("reference").items():
                (ctx.workspace / rel).write_bytes(content)
        return agent_result(result, timeout_s=ctx.timeout_s)


register_agent(Talker.name, Talker)


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and os.environ.get("CONTROLLER_CPU"):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        Path(os.environ["CONTROLLER_CPU"]).write_text(json.dumps(usage.ru_utime + usage.ru_stime))
'''


class SlowModel:
    """One host's local model: the fake Ollama, every inference call held CALL_S on a timer."""

    def __init__(self, call_s: float):
        import uvicorn

        app = create_app([MODEL])

        async def slow(scope, receive, send):
            if scope["type"] == "http" and scope["path"] in ("/api/chat", "/api/generate"):
                await asyncio.sleep(call_s)
            await app(scope, receive, send)

        self.app = app
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(slow, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)

    @property
    def chats(self) -> int:
        return sum(1 for path, _ in self.app.state.requests if path == "/api/chat")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


def project(root: Path, urls: list[str]) -> Path:
    """The sweep's project folder, with a copy of this pytest-arena in a pip install's layout
    (``site/``, first on the sweep's PYTHONPATH): every run measures the same files, whatever is
    edited in the working tree meanwhile (hosts refuse to mix different content)."""
    from pytest_arena.sweep.digest import package_folders

    for prefix, folder in package_folders().items():
        shutil.copytree(folder, root / "site" / prefix, ignore=shutil.ignore_patterns("__pycache__"),
                        dirs_exist_ok=True)
    for module in TASKS:
        make_task(root, f"demo/{module}", module=module)
    (root / "conftest.py").write_text(CONFTEST)
    hosts = "".join(f"    gw{i}: {{local_base_url: '{url}'}}\n" for i, url in enumerate(urls))
    (root / "arena.yaml").write_text(
        "variant_tag: bench\nout_dir: results/bench\n"
        f"models: {{cloud: scripted, local: ollama/{MODEL}, local_base_url: '{urls[0]}'}}\n"
        f"benchmark: {{task_classes: [puzzles], agents: [talker], seeds: [{', '.join(map(str, SEEDS))}], "
        "strategies: [always-local]}\n"
        "analysis: {resamples: 200, charts: false}\n"
        f"hosts:\n  workers:\n{hosts}")
    return root


def sweep(root: Path, models: list[SlowModel], workers: int) -> dict:
    """One run of the sweep on ``workers`` workers, in a fresh results folder."""
    out = root / f"results-{workers}-{time.monotonic_ns()}"
    cpu_file = out.with_suffix(".cpu")
    before = [m.chats for m in models]
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    launched = datetime.now(UTC)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--arena-config",
                           "arena.yaml", "--arena-no-report", "--arena-out", str(out), "-n", str(workers)],
                          cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, TALKER_CALLS=str(CALLS), CONTROLLER_CPU=str(cpu_file),
                                   PYTHONPATH=str(root / "site")))
    wall = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    raw = out / "raw.jsonl"
    rows = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()] if raw.is_file() else []
    if proc.returncode != 0 or {r["outcome"] for r in rows} != {"pass"}:
        raise SystemExit(f"-n {workers}: the sweep did not pass:\n{proc.stdout[-3000:]}")
    chats = [m.chats - b for m, b in zip(models, before)]
    starts = [datetime.fromisoformat(r["started_at"]) for r in rows]
    ends = [datetime.fromisoformat(r["finished_at"]) for r in rows]
    return {"wall": wall, "cells": len(rows), "chats": chats, "row": json.dumps(rows[0]),
            "span": (max(ends) - min(starts)).total_seconds(), "startup": (min(starts) - launched).total_seconds(),
            "cell_s": statistics.median((e - b).total_seconds() for b, e in zip(starts, ends)),
            "hosts": sorted({r["provenance"]["worker"] for r in rows}),
            "controller_cpu": json.loads(cpu_file.read_text()),
            "sweep_cpu": (children.ru_utime + children.ru_stime) - (children0.ru_utime + children0.ru_stime)}


def spread(values: list[float], fmt: str = ".2f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def fingerprint_cost() -> str:
    """The package digest (cold: the first in this process) and the task digests of the shipped
    task folders: what each host computes once per session to be compared."""
    from pytest_arena.sweep.digest import package_digest, task_digest
    from pytest_arena.sweep.session import SHIPPED_TASKS
    from pytest_arena.tasks.folder import load_task

    t0 = time.perf_counter()
    digest = package_digest()
    package_ms = (time.perf_counter() - t0) * 1000
    tasks = [load_task(spec.parent) for spec in sorted(SHIPPED_TASKS.glob("*/*/task.yaml"))]
    t0 = time.perf_counter()
    for task in tasks:
        task_digest(task)
    tasks_ms = (time.perf_counter() - t0) * 1000
    return (f"host fingerprint: package digest {package_ms:.1f} ms cold ({len(digest.files)} files), "
            f"task digests {tasks_ms:.1f} ms for the {len(tasks)} shipped task folders")


def controller_rows_per_second(sample_row: str, n: int = 300) -> float:
    from pytest_arena.cell.handoff import pack
    from pytest_arena.cell.results import ResultsStore
    from pytest_arena.cell.rows import Row

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        template = Row.model_validate_json(sample_row)
        payloads = []
        for i in range(n):
            cell = base / "host" / str(i)
            (cell / "workspace").mkdir(parents=True)
            (cell / "workspace" / "solution.py").write_text("def f():\n    return 1\n" * 50)
            (cell / "junit.xml").write_text("<testsuite tests='3'/>")
            row = template.model_copy(update={"run_id": f"bench-{i}", "output_ref": f"cells/c{i}"})
            payloads.append(pack(row, [], cell, 8 * 2**20)[1])
        store = ResultsStore(base / "out")
        t0 = time.perf_counter()
        for payload in payloads:
            store.accept(payload)
        return n / (time.perf_counter() - t0)


def main(repeats: int) -> None:
    from pytest_arena.cell import provenance

    prov = provenance.collect("none")
    print(f"machine: {prov.cpu}, {prov.cpus} cpus, {prov.memory_gb:g} GB, {platform.platform()}, "
          f"load average at start {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"sweep: {len(TASKS) * len(SEEDS)} cells (talker x always-local x {len(TASKS)} tasks x {len(SEEDS)} seeds), "
          f"{CALLS} calls of {CALL_S:g} s per cell through the router, each worker its own model server")
    models = [SlowModel(CALL_S) for _ in range(max(WORKERS))]
    runs: dict[int, list[dict]] = {n: [] for n in WORKERS}
    try:
        with tempfile.TemporaryDirectory(prefix="arena-multihost-") as tmp:
            root = project(Path(tmp), [m.base_url for m in models])
            for i in range(repeats):
                for workers in WORKERS[:: 1 if i % 2 == 0 else -1]:
                    run = sweep(root, models, workers)
                    runs[workers].append(run)
                    print(f"  repeat {i + 1}, -n {workers}: wall {run['wall']:.1f} s (launch to first cell start "
                          f"{run['startup']:.1f} s, first cell start to last cell end {run['span']:.1f} s, a cell "
                          f"{run['cell_s']:.1f} s), chats per host "
                          f"{run['chats']}, controller CPU {run['controller_cpu']:.1f} s, sweep CPU "
                          f"{run['sweep_cpu']:.1f} s", flush=True)
    finally:
        for model in models:
            model.stop()
    print("median (range) over repeats; cells/hour of the whole run (start-up and reference checks included), "
          "then of the cells' own span (first start to last end):")
    for workers, done in runs.items():
        cells = done[0]["cells"]
        per_hour = [cells / r["wall"] * 3600 for r in done]
        ratio = [one["wall"] / r["wall"] for one, r in zip(runs[1], done)]
        span_per_hour = [cells / r["span"] * 3600 for r in done]
        span_ratio = [one["span"] / r["span"] for one, r in zip(runs[1], done)]
        print(f"-n {workers}: {spread(per_hour, '.0f')} cells/hour, x{spread(ratio)} of -n 1 "
              f"(wall {spread([r['wall'] for r in done], '.1f')} s); span {spread(span_per_hour, '.0f')} cells/hour, "
              f"x{spread(span_ratio)}; start-up {spread([r['startup'] for r in done], '.1f')} s, a cell "
              f"{spread([r['cell_s'] for r in done], '.1f')} s; controller CPU "
              f"{spread([r['controller_cpu'] for r in done], '.1f')} s, whole sweep CPU "
              f"{spread([r['sweep_cpu'] for r in done], '.1f')} s")
    row = runs[1][0]["row"]
    print(f"ideal (model time only): {CALLS * CALL_S:g} s per cell, "
          f"{3600 / (CALLS * CALL_S):.0f} cells/hour per worker")
    print(fingerprint_cost())
    print(f"controller: {controller_rows_per_second(row):.0f} rows/s "
          f"(accept: artifacts unpacked, ledger, row written with fsync)")
    print(f"load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

"""Router overhead, streaming and not, against baselines measured in the same run.

Starts three servers as subprocesses:
  mock    /work/shared/bench/mock_upstream.py (OpenAI-compatible; a stream is 20 chunks, a usage
          chunk and [DONE])
  bare    benchmarks/bare_proxy.py: raw ASGI on uvicorn + the router's upstream client passing bytes
          through (the floor of any proxy on the router's stack); ``--bare-client aiohttp`` puts
          aiohttp, the router's client before issue 12, in its place
  router  ``python -m pytest_arena.router`` with a real strategy (default ``heuristic``), both backends on the
          mock, the ledger written to a file and a token checked on every call, as in real use
then, ``--runs`` times, runs /work/shared/bench/loadgen.py against the mock directly, through the
bare proxy and through the router, one after the other. Per target and run:

  non-stream p50 / p99     sequential calls on one keep-alive connection
  stream TTFB / total p50  sequential streaming calls: first response byte / last byte
  req/s c=N              closed-loop throughput (wrk, --conc connections), non-stream and stream
  CPU ms per streamed call the proxy's CPU time under the streaming throughput load

Two more targets can join the same runs:
  compare  --compare-src DIR: the router package of another source tree (a before/after)
  node     --compare-node DIR: the original project's Node router, ``node DIR/server.mjs`` (DIR is
           the ``router/`` folder of a clone of RunanywhereAI/hybrid-arena; nothing of it is in this
           repository), banner off, its decision log in a temporary folder, cloud base on the mock.
           Its local side speaks Ollama's native /api/chat, which the mock does not, so it is
           compared with ``--strategy always-cloud`` only.

Overhead = (through a proxy) - (direct), taken within one run. Printed: every run with the load
average before and after it, then medians over the runs with their range [min-max] and the ratios
to the same-run baselines (each ratio the median of the per-run ratios); without ``--compare-node``,
reference figures measured elsewhere (issue 12), labelled as such.

  python benchmarks/router_overhead.py [--runs 3] [--duration 5] [--n 1000] [--stream-n 300]
                                       [--strategy heuristic] [--compare-src DIR]
                                       [--compare-node DIR] [--bare-client aiohttp] [--json out.json]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789abcdefghijklmn"  # the router checks it on every call, as in real use
# Measured by issue 12 on this machine type (AMD EPYC, 2 cores, 2026-12-01): medians of three runs.
NODE_REF = {"ns_p50": 1.06, "ttfb_p50": 1.11, "total_p50": 1.17, "rps": 1068, "rps_stream": 723, "cpu_stream": 1.08}
LITELLM_REF = {"ns_p50": 22.0, "ttfb_p50": 23.0, "total_p50": 58.0, "rps": 57, "rps_stream": 18, "cpu_stream": 51.0}
TARGET = 1.5  # issue 12: streaming at least 1.5x better than the Node router


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, name: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name}: nothing listens on port {port} after {timeout_s:g} s")


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def loadgen(bench: Path, url: str, args, label: str, cpu_pid: int | None, model: str = "mock-model") -> dict:
    cmd = [sys.executable, str(bench / "loadgen.py"), "--url", url, "--model", model,
           "--modes", "seq,stream,tput", "--tput-stream", "--n", str(args.n), "--stream-n", str(args.stream_n),
           "--warmup", str(args.warmup), "--conc", str(args.conc), "--duration", str(args.duration),
           "--label", label, "--header", f"Authorization: Bearer {TOKEN}"]
    if cpu_pid:
        cmd += ["--cpu-pid", str(cpu_pid)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def figures(res: dict) -> dict:
    seq, stream, tput, tput_s = res["seq"], res["stream"], res["tput"], res["tput_stream"]
    return {"ns_p50": seq["latency_ms"]["p50"], "ns_p99": seq["latency_ms"]["p99"],
            "ttfb_p50": stream["ttfb_ms"]["p50"], "total_p50": stream["total_ms"]["p50"],
            "rps": tput["rps"], "rps_stream": tput_s["rps"], "cpu_stream": tput_s.get("proxy_cpu_ms_per_req"),
            "errors": seq["errors"] + stream["errors"] + tput.get("non2xx", 0) + tput_s.get("non2xx", 0),
            "events": stream["sse_events_seen"]}


def med(values: list[float], unit: str, digits: int) -> str:
    """Median with the range over the runs."""
    if not values:
        return "-"
    m, lo, hi = statistics.median(values), min(values), max(values)
    return f"{m:,.{digits}f} {unit} [{lo:,.{digits}f}-{hi:,.{digits}f}]"


def ledger_summary(path: Path) -> str:
    if not path.exists():
        return "no ledger file"
    status, choice, n = collections.Counter(), collections.Counter(), 0
    for line in open(path, "rb"):
        rec = json.loads(line)
        n += 1
        status[rec.get("status")] += 1
        choice[rec.get("choice")] += 1
    return (f"{n:,} records; status " + ", ".join(f"{k} {v:,}" for k, v in status.most_common())
            + "; routed " + ", ".join(f"{k} {v:,}" for k, v in choice.most_common()))


def router_module(src: Path) -> str:
    """This tree's router runs as the installed ``pytest_arena.router``; a --compare-src tree from
    before the rename (its router a top-level package) runs as ``router`` from its own folder."""
    return "pytest_arena.router" if src.resolve() == REPO.resolve() else "router"


def router_command(port: int, strategy: str, mock_url: str, ledger: Path, env_file: Path,
                   transcript: Path | None = None, module: str = "pytest_arena.router") -> list[str]:
    """``python -m pytest_arena.router`` as measured: both sides on the mock, the ledger written, a token checked."""
    return ([sys.executable, "-m", module, "--port", str(port), "--strategy", strategy,
             "--local", f"openai:mock-model@{mock_url}/v1", "--cloud", f"openai:mock-model@{mock_url}/v1",
             "--ledger", str(ledger), "--env-file", str(env_file), "--token", TOKEN]
            + (["--transcript", str(transcript)] if transcript else []))


def bare_command(port: int, mock_url: str, client: str = "router") -> list[str]:
    """benchmarks/bare_proxy.py on the mock, its upstream client ``router`` or ``aiohttp``."""
    return [sys.executable, str(REPO / "benchmarks" / "bare_proxy.py"), "--port", str(port), "--upstream", mock_url,
            "--client", client]


def start_router(args, src: Path, port: int, mock_url: str, ledger: Path, tmp: Path, err,
                 transcript: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(router_command(port, args.strategy, mock_url, ledger, tmp / "none.env", transcript,
                                           router_module(src)),
                            cwd=src, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "PYTHONPATH": str(src)})


def start_node_router(folder: Path, port: int, mock_url: str, log_dir: Path, err) -> subprocess.Popen:
    """The original's router as its README starts it, cloud side on the mock, banner off (the
    banner adds an event the other targets do not send)."""
    server = folder / "server.mjs"
    if not server.is_file():
        raise SystemExit(f"--compare-node {folder}: no server.mjs there (give the router/ folder of a clone of "
                         "RunanywhereAI/hybrid-arena)")
    if shutil.which("node") is None:
        raise SystemExit("--compare-node needs Node.js (`node` on PATH)")
    env = {**os.environ, "PORT": str(port), "CLOUD_BASE": f"{mock_url}/v1", "CLOUD_API_KEY": "sk-bench",
           "ROUTER_BANNER": "0", "ROUTER_LOG_DIR": str(log_dir)}
    return subprocess.Popen(["node", str(server)], cwd=folder, stdout=subprocess.DEVNULL, stderr=err, env=env)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-dir", default="/work/shared/bench", help="folder with mock_upstream.py and loadgen.py")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds of each wrk throughput phase")
    ap.add_argument("--n", type=int, default=1000, help="sequential non-streaming calls per target and run")
    ap.add_argument("--stream-n", type=int, default=300, help="sequential streaming calls per target and run")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--conc", type=int, default=32)
    ap.add_argument("--strategy", default="heuristic", help="the routers' strategy (default: heuristic)")
    ap.add_argument("--compare-src", type=Path,
                    help="also measure, in the same runs, the router package of this source tree (e.g. "
                         "`git archive OLD router | tar -x -C DIR`): a before/after taken side by side")
    ap.add_argument("--compare-node", type=Path,
                    help="also measure, in the same runs, the original project's Node router: the router/ folder "
                         "(with server.mjs) of a clone of RunanywhereAI/hybrid-arena; needs --strategy always-cloud")
    ap.add_argument("--transcript", action="store_true",
                    help="the router also writes a full transcript of every call, as pytest-arena's runs do by "
                         "default (router.transcript: full)")
    ap.add_argument("--bare-client", choices=("router", "aiohttp"), default="router",
                    help="the bare pass-through's upstream client (default: the router's own)")
    ap.add_argument("--json", help="also write every run's raw figures here")
    args = ap.parse_args()
    if args.compare_node and args.strategy != "always-cloud":
        ap.error("--compare-node needs --strategy always-cloud: the Node router's local side speaks Ollama's "
                 "/api/chat, which the mock upstream does not")
    bench = Path(args.bench_dir)
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    names = (["mock", "bare", "router"] + (["compare"] if args.compare_src else [])
             + (["node"] if args.compare_node else []))
    ports = {name: free_port() for name in names}
    mock_url = f"http://127.0.0.1:{ports['mock']}"
    err = open(tmp / "servers.log", "w")
    procs = {
        "mock": subprocess.Popen([sys.executable, str(bench / "mock_upstream.py"), "--port", str(ports["mock"])],
                                 stdout=subprocess.DEVNULL, stderr=err),
        "bare": subprocess.Popen(bare_command(ports["bare"], mock_url, args.bare_client),
                                 stdout=subprocess.DEVNULL, stderr=err),
        "router": start_router(args, REPO, ports["router"], mock_url, tmp / "ledger.jsonl", tmp, err,
                               tmp / "transcript.jsonl" if args.transcript else None),
    }
    if args.compare_src:
        procs["compare"] = start_router(args, args.compare_src.resolve(), ports["compare"], mock_url,
                                        tmp / "ledger-compare.jsonl", tmp, err)
    if args.compare_node:
        procs["node"] = start_node_router(args.compare_node.resolve(), ports["node"], mock_url, tmp / "node-logs", err)
    urls = {"direct": f"{mock_url}/v1/chat/completions", "bare": f"http://127.0.0.1:{ports['bare']}/v1/chat/completions"}
    urls.update({name: f"http://127.0.0.1:{ports[name]}/run/default/v1/chat/completions"
                 for name in ("router", "compare") if name in procs})
    if "node" in procs:
        urls["node"] = f"http://127.0.0.1:{ports['node']}/v1/chat/completions"
    models = {"node": f"router/{args.strategy}"}  # the Node router reads its strategy from the model
    try:
        for name, proc in procs.items():
            wait_port(ports[name], proc, name)
        print(f"machine: {machine()}")
        print(f"setup: {args.runs} runs; per target and run {args.n} sequential calls, {args.stream_n} sequential "
              f"streams, wrk c={args.conc} for {args.duration} s non-stream and stream; router strategy "
              f"{args.strategy}, ledger on, token checked, transcript {'on' if args.transcript else 'off'}"
              + (f"; 'compare' is the router of {args.compare_src}" if args.compare_src else "")
              + (f"; 'node' is the original's Node router ({args.compare_node}, node {node_version()})"
                 if args.compare_node else ""), flush=True)
        load_start = loadavg()
        runs: list[dict[str, dict]] = []
        for run in range(args.runs):
            before = loadavg()
            row = {target: figures(loadgen(bench, url, args, f"{target}-{run}",
                                           procs[target].pid if target != "direct" else None,
                                           models.get(target, "mock-model")))
                   for target, url in urls.items()}
            runs.append(row)
            print(f"run {run + 1} (load average {before} before, {loadavg()} after):")
            for target, f in row.items():
                cpu = f"; CPU {f['cpu_stream']:.3f} ms/streamed call" if f["cpu_stream"] is not None else ""
                print(f"  {target:7s} non-stream p50 {f['ns_p50']:.3f} p99 {f['ns_p99']:.3f} ms | stream TTFB "
                      f"{f['ttfb_p50']:.3f} total {f['total_p50']:.3f} ms | {f['rps']:,.0f} / {f['rps_stream']:,.0f} "
                      f"req/s non-stream / stream{cpu} | errors {f['errors']}, SSE events {f['events']}", flush=True)
        load_end = loadavg()
        report(runs, args, load_start, load_end, tmp)
        if args.json:
            Path(args.json).write_text(json.dumps({"machine": machine(), "load_start": load_start,
                                                   "load_end": load_end, "runs": runs}, indent=2))
        return 0
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(10)
        err.close()
        shutil.rmtree(tmp, ignore_errors=True)


ROWS = [("non-stream overhead p50", "ns_p50", "over"), ("non-stream overhead p99", "ns_p99", "over"),
        ("stream TTFB overhead p50", "ttfb_p50", "over"),
        ("stream total overhead p50 (20 chunks)", "total_p50", "over"),
        ("throughput, non-stream", "rps", "val"), ("throughput, stream", "rps_stream", "val"),
        ("proxy CPU per streamed call (under load)", "cpu_stream", "val")]
UNITS = {"ns_p50": ("ms", 3), "ns_p99": ("ms", 3), "ttfb_p50": ("ms", 3), "total_p50": ("ms", 3),
         "rps": ("req/s", 0), "rps_stream": ("req/s", 0), "cpu_stream": ("ms", 3)}


def node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def decision_log_summary(folder: Path) -> str:
    path = folder / "decisions.jsonl"
    if not path.exists():
        return "no decision log"
    recs = [json.loads(line) for line in open(path, "rb") if line.strip()]
    ok = sum(1 for r in recs if r.get("success"))
    return f"{len(recs):,} records, {ok:,} success"


def report(runs: list[dict[str, dict]], args, load_start: str, load_end: str, tmp: Path) -> None:
    def series(target: str, key: str, kind: str) -> list[float]:
        if kind == "over":
            return [r[target][key] - r["direct"][key] for r in runs]
        return [r[target][key] for r in runs if r[target][key] is not None]

    def ratio(num: list[float], den: list[float]) -> list[float]:
        return [a / b for a, b in zip(num, den) if b]

    others = [name for name in ("compare", "node") if name in runs[0]]
    print(f"\nmachine: {machine()}; load average {load_start} at the start, {load_end} at the end")
    print(f"medians of {len(runs)} runs [range]; overhead = through the proxy - direct, same run; c={args.conc}\n")
    head = f"  {'figure':42s} {'router':30s} {'bare pass-through':30s} {'router / bare':22s}"
    print(head + "".join(f" {name:30s} {'router / ' + name:22s}" for name in others))
    for label, key, kind in ROWS:
        unit, digits = UNITS[key]
        router, bare = series("router", key, kind), series("bare", key, kind)
        line = (f"  {label:42s} {med(router, unit, digits):30s} {med(bare, unit, digits):30s} "
                f"{med(ratio(router, bare), 'x', 2):22s}")
        for name in others:
            other = series(name, key, kind)
            line += f" {med(other, unit, digits):30s} {med(ratio(router, other), 'x', 2):22s}"
        print(line)
    direct = {key: med(series("direct", key, "val"), *UNITS[key])
              for key in ("ns_p50", "total_p50", "rps", "rps_stream")}
    print(f"  {'direct to the mock (no proxy)':42s} non-stream p50 {direct['ns_p50']}, "
          f"stream total {direct['total_p50']},"
          f" {direct['rps']} / {direct['rps_stream']} stream")
    errors = sum(r[t]["errors"] for r in runs for t in r)
    print(f"  errors (bad status or incomplete answer) over all runs: {errors}")
    print(f"  router ledger: {ledger_summary(tmp / 'ledger.jsonl')}")
    print(f"    (client_error: calls in flight when wrk stopped a phase, at most c={args.conc} per phase)")
    if "compare" in others:
        print(f"  compare ledger: {ledger_summary(tmp / 'ledger-compare.jsonl')}")
    if "node" in others:
        print(f"  node decision log: {decision_log_summary(tmp / 'node-logs')}")
        # issue 12's goal, taken run by run: Node's figure over ours (overhead) and ours over Node's (req/s)
        total = ratio(series("node", "total_p50", "over"), series("router", "total_p50", "over"))
        rps = ratio(series("router", "rps_stream", "val"), series("node", "rps_stream", "val"))
        print(f"\nissue 12 goal, measured in these runs: streaming at least {TARGET}x better than the Node router")
        for name, values in (("stream total overhead, Node / router", total),
                             ("stream throughput c=32, router / Node", rps)):
            m = statistics.median(values)
            print(f"  {name:40s} {med(values, 'x', 2):22s} {'met' if m >= TARGET else 'MISSED'}")
        return

    total = statistics.median(series("router", "total_p50", "over"))
    rps = statistics.median(series("router", "rps_stream", "val"))
    print("\nreference figures, NOT from this run (issue 12: AMD EPYC 2-core machine, 2026-12-01, medians of three"
          " runs; --compare-node measures the Node router in the same run):")
    print(f"  original Node router: non-stream overhead p50 {NODE_REF['ns_p50']} ms, "
          f"stream TTFB {NODE_REF['ttfb_p50']} ms,"
          f" stream total {NODE_REF['total_p50']} ms, {NODE_REF['rps']:,} / {NODE_REF['rps_stream']:,} req/s,"
          f" {NODE_REF['cpu_stream']} ms CPU per streamed call")
    print(f"  LiteLLM 1.108.7:      non-stream overhead p50 {LITELLM_REF['ns_p50']} ms, stream total "
          f"{LITELLM_REF['total_p50']} ms, {LITELLM_REF['rps']} / {LITELLM_REF['rps_stream']} req/s")
    goal_total, goal_rps = NODE_REF["total_p50"] / TARGET, NODE_REF["rps_stream"] * TARGET
    print(f"  issue 12 goal, {TARGET}x the Node figures: stream total overhead <= {goal_total:.2f} ms "
          f"(here {total:.3f} ms: {'met' if total <= goal_total else 'MISSED'}, "
          f"{NODE_REF['total_p50'] / total if total > 0 else float('inf'):.1f}x); stream throughput >= {goal_rps:,.0f} "
          f"req/s (here {rps:,.0f}: {'met' if rps >= goal_rps else 'MISSED'}, {rps / NODE_REF['rps_stream']:.2f}x)."
          " Comparable only at a load like the reference run's.")


if __name__ == "__main__":
    sys.exit(main())

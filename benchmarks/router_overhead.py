"""Router overhead over a direct call to the same mock upstream, measured in the same run.

Starts /work/shared/bench/mock_upstream.py and the router (``python -m router``, strategy
always-cloud, an openai backend pointing at the mock, ledger on) as subprocesses, then runs
/work/shared/bench/loadgen.py against the mock directly and through the router's run-scoped URL,
alternating, ``--reps`` times. Prints the medians across repetitions:

  non-stream p50 / p99 overhead   (router latency - direct latency, sequential, one connection)
  stream TTFB p50 overhead        (time to the first response byte of a streaming call)
  throughput at concurrency 32    (closed loop, wrk when installed)

against the goals (p50 <= 0.5 ms, p99 <= 2 ms, TTFB <= 0.5 ms, >= 3,000 req/s) and the anchors
measured on this machine (original Node router 0.74 ms / 2,300 req/s; LiteLLM 9.3 ms / 100 req/s).

  python benchmarks/router_overhead.py [--reps 3] [--n 2000] [--duration 10] [--bench-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789abcdefghijklmn"  # the router checks it on every call, as in real use
GOALS = {"p50_ms": 0.5, "p99_ms": 2.0, "ttfb_p50_ms": 0.5, "rps_c32": 3000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def loadgen(bench: Path, url: str, args, label: str, cpu_pid: int | None) -> dict:
    cmd = [sys.executable, str(bench / "loadgen.py"), "--url", url, "--model", "mock-model",
           "--modes", "seq,stream,tput", "--n", str(args.n), "--stream-n", str(args.stream_n),
           "--warmup", str(args.warmup), "--conc", str(args.conc), "--duration", str(args.duration),
           "--label", label, "--header", f"Authorization: Bearer {TOKEN}"]
    if cpu_pid:
        cmd += ["--cpu-pid", str(cpu_pid)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def figures(res: dict) -> dict:
    return {"p50_ms": res["seq"]["latency_ms"]["p50"], "p99_ms": res["seq"]["latency_ms"]["p99"],
            "ttfb_p50_ms": res["stream"]["ttfb_ms"]["p50"], "rps_c32": res["tput"]["rps"],
            "errors": res["seq"]["errors"] + res["stream"]["errors"] + res["tput"].get("non2xx", 0),
            "cpu_ms_per_req": res["tput"].get("proxy_cpu_ms_per_req"), "cpu_util": res["tput"].get("proxy_cpu_util")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-dir", default="/work/shared/bench", help="folder with mock_upstream.py and loadgen.py")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--stream-n", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--conc", type=int, default=32)
    ap.add_argument("--duration", type=int, default=10)
    args = ap.parse_args()
    bench = Path(args.bench_dir)
    mock_port = free_port()
    router_port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="arena-bench-"))
    ledger = tmp / "ledger.jsonl"
    mock = subprocess.Popen([sys.executable, str(bench / "mock_upstream.py"), "--port", str(mock_port)],
                            stdout=subprocess.DEVNULL)
    mock_url = f"http://127.0.0.1:{mock_port}"
    router = subprocess.Popen(
        [sys.executable, "-m", "router", "--port", str(router_port), "--strategy", "always-cloud",
         "--local", f"openai:mock-model@{mock_url}/v1", "--cloud", f"openai:mock-model@{mock_url}/v1",
         "--ledger", str(ledger), "--env-file", str(tmp / "none.env"), "--token", TOKEN],
        cwd=REPO, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        wait_port(mock_port)
        wait_port(router_port)
        direct_url = f"{mock_url}/v1/chat/completions"
        routed_url = f"http://127.0.0.1:{router_port}/run/default/v1/chat/completions"
        direct, routed = [], []
        for rep in range(args.reps):
            direct.append(figures(loadgen(bench, direct_url, args, f"direct-{rep}", None)))
            routed.append(figures(loadgen(bench, routed_url, args, f"router-{rep}", router.pid)))
            d, r = direct[-1], routed[-1]
            print(f"rep {rep}: direct p50 {d['p50_ms']:.3f} p99 {d['p99_ms']:.3f} ttfb {d['ttfb_p50_ms']:.3f} "
                  f"{d['rps_c32']:.0f} req/s | router p50 {r['p50_ms']:.3f} p99 {r['p99_ms']:.3f} "
                  f"ttfb {r['ttfb_p50_ms']:.3f} {r['rps_c32']:.0f} req/s | errors {r['errors']} | router CPU "
                  f"{r['cpu_ms_per_req'] or 0:.3f} ms/req at c={args.conc} ({r['cpu_util'] or 0:.0%} of a core)", flush=True)
        med = lambda rows, key: statistics.median(row[key] for row in rows)  # noqa: E731
        result = {
            "p50_ms": statistics.median(r["p50_ms"] - d["p50_ms"] for d, r in zip(direct, routed)),
            "p99_ms": statistics.median(r["p99_ms"] - d["p99_ms"] for d, r in zip(direct, routed)),
            "ttfb_p50_ms": statistics.median(r["ttfb_p50_ms"] - d["ttfb_p50_ms"] for d, r in zip(direct, routed)),
            "rps_c32": med(routed, "rps_c32"),
        }
        records = sum(1 for _ in open(ledger)) if ledger.exists() else 0
        print(f"\nrouter overhead over direct (median of {args.reps} reps; ledger on, {records} records written):")
        for key, label, unit in (("p50_ms", "non-stream p50 overhead", "ms"), ("p99_ms", "non-stream p99 overhead", "ms"),
                                 ("ttfb_p50_ms", "stream TTFB p50 overhead", "ms"), ("rps_c32", f"throughput c={args.conc}", "req/s")):
            ok = result[key] >= GOALS[key] if key == "rps_c32" else result[key] <= GOALS[key]
            print(f"  {label:26s} {result[key]:9.3f} {unit:5s} goal {'>=' if key == 'rps_c32' else '<='} "
                  f"{GOALS[key]} {'met' if ok else 'MISSED'}")
        print(f"  direct throughput c={args.conc}  {med(direct, 'rps_c32'):9.0f} req/s (the mock alone)")
        print("  anchors: original Node router 0.74-0.78 ms p50 / 4.8-5.6 ms p99 / 0.77 ms TTFB / 2,173-2,404 req/s;"
              " LiteLLM 9.2-9.4 ms / 100 req/s")
        return 0
    finally:
        router.terminate()
        mock.terminate()
        router.wait(10)
        mock.wait(10)


if __name__ == "__main__":
    sys.exit(main())

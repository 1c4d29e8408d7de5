"""CPU instructions per streamed call, counted by callgrind: a router figure that holds on a busy machine.

Wall-clock figures (router_overhead.py) move ±20% from run to run on a shared 2-core machine;
callgrind counts the instructions the proxy process executes, which repeat within ~1% whatever
else the machine does. Starts the mock upstream, then each target under
``valgrind --tool=callgrind`` in turn, sends ``--warmup`` streamed calls on one keep-alive
connection, zeroes the counters, sends ``--calls`` more, dumps, and prints instructions per call:

  router   ``python -m pytest_arena.router --strategy always-cloud`` (ledger on, token checked), of this tree
  compare  the same for ``--compare-src DIR`` (another tree's router package), if given
  bare     benchmarks/bare_proxy.py, the floor of any proxy on uvicorn + the router's upstream client
           (``--bare-client aiohttp``: on aiohttp, the router's client before issue 12)

Two upstream timings, because they are two different workloads:
  burst      the mock writes its 20 chunks at once (``--chunk-delay-ms 0``): the proxy wakes about
             once per call and reads the chunks together (the throughput benchmark's case)
  per-chunk  ``--chunk-delay-ms 4``: each chunk arrives on its own and is read, decoded and
             written to the client on its own, as a model's tokens are

Only user-space instructions are counted (system calls are not), and valgrind runs the target
~50x slower; compare only figures from this script.

  python benchmarks/router_instructions.py [--calls 200] [--warmup 50] [--compare-src DIR] [--transcript]
                                             [--bare-client aiohttp]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from router_overhead import REPO, TOKEN, bare_command, free_port, machine, router_command, router_module

BENCH = Path("/work/shared/bench")


def run_target(name: str, command, cwd: Path, path: str, tmp: Path, mock_port: int, calls: int, warmup: int) -> float:
    """Instructions per streamed call of one target: callgrind's total over ``calls`` calls.
    ``command(port, mock_url, scratch)`` gives its command line."""
    out = tmp / name
    out.mkdir()
    port = free_port()
    argv = command(port, f"http://127.0.0.1:{mock_port}", out)
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # a router runs from its own tree
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p", *argv], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=open(out / "stderr", "w"), text=True)
    try:
        if name != "bare":
            proc.stdout.readline()  # the router's banner: its run is registered
        conn = _connect(port, proc)
        body = json.dumps({"model": "mock-model", "stream": True,
                           "messages": [{"role": "user", "content": "write a function that adds two numbers"}]})
        request = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                   f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
        for _ in range(warmup):
            _call(conn, request)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, check=True)
        for _ in range(calls):
            _call(conn, request)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True)
        conn.close()
    finally:
        proc.terminate()
        proc.wait(120)
    dump = sorted(glob.glob(str(out / "cg.*.1")))
    if not dump:
        raise SystemExit(f"{name}: callgrind wrote no dump (see {out / 'stderr'})")
    for line in open(dump[0]):
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1]) / calls
    raise SystemExit(f"{name}: no instruction total in {dump[0]}")


def _connect(port: int, proc: subprocess.Popen) -> socket.socket:
    deadline = time.monotonic() + 180  # valgrind starts a Python process slowly
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the target exited with status {proc.returncode} before listening")
        try:
            conn = socket.create_connection(("127.0.0.1", port), 1)
            conn.settimeout(120)
            return conn
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on port {port}") from None
            time.sleep(0.5)


def _call(conn: socket.socket, request: bytes) -> None:
    conn.sendall(request)
    buf = b""
    while not buf.endswith(b"0\r\n\r\n"):
        data = conn.recv(65536)
        if not data:
            raise SystemExit(f"the connection closed mid-answer: {buf[:300]!r}")
        buf += data
    if not buf.startswith(b"HTTP/1.1 200") or b"[DONE]" not in buf:
        raise SystemExit(f"not a complete streamed answer: {buf[:300]!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200, help="counted streamed calls per target and timing")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--compare-src", type=Path, help="also count the router package of this source tree")
    ap.add_argument("--transcript", action="store_true",
                    help="the routers also write a full transcript of every call (pytest-arena's default)")
    ap.add_argument("--bare-client", choices=("router", "aiohttp"), default="router",
                    help="the bare pass-through's upstream client (default: the router's own)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("needs valgrind (Debian package valgrind)")
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {machine()}; {version}")
    def router(port: int, mock_url: str, scratch: Path) -> list[str]:
        return router_command(port, "always-cloud", mock_url, scratch / "ledger.jsonl", scratch / "none.env",
                              scratch / "transcript.jsonl" if args.transcript else None)

    def bare(port: int, mock_url: str, scratch: Path) -> list[str]:
        return bare_command(port, mock_url, args.bare_client)

    targets = [("router", router, REPO, "/run/default/v1/chat/completions")]
    if args.compare_src:
        def compare(port: int, mock_url: str, scratch: Path) -> list[str]:
            return router_command(port, "always-cloud", mock_url, scratch / "ledger.jsonl", scratch / "none.env",
                                  scratch / "transcript.jsonl" if args.transcript else None,
                                  router_module(args.compare_src))

        targets.append(("compare", compare, args.compare_src.resolve(), "/run/default/v1/chat/completions"))
    targets.append(("bare", bare, REPO, "/v1/chat/completions"))
    figures: dict[str, dict[str, float]] = {}
    for timing, delay in (("burst", "0"), ("per-chunk", "4")):
        tmp = Path(tempfile.mkdtemp(prefix="arena-instructions-"))
        mock_port = free_port()
        mock = subprocess.Popen([sys.executable, str(BENCH / "mock_upstream.py"), "--port", str(mock_port),
                                 "--chunk-delay-ms", delay], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for name, command, src, path in targets:
                per_call = run_target(name, command, src, path, tmp, mock_port, args.calls, args.warmup)
                figures.setdefault(name, {})[timing] = per_call
                print(f"  {timing:9s} {name:7s} {per_call / 1e6:.3f} M instructions per streamed call", flush=True)
        finally:
            mock.terminate()
            mock.wait(10)
            shutil.rmtree(tmp, ignore_errors=True)
    bare = figures["bare"]
    print(f"\ninstructions per streamed call ({args.calls} calls after {args.warmup} warm-up, one keep-alive "
          "connection; the mock's 20 chunks + usage + [DONE]):")
    for name, row in figures.items():
        ratios = "" if name == "bare" else "  (" + ", ".join(
            f"{timing} {row[timing] / bare[timing]:.2f}x bare" for timing in row) + ")"
        print(f"  {name:7s} burst {row['burst'] / 1e6:.3f} M, per-chunk {row['per-chunk'] / 1e6:.3f} M{ratios}")
    if "compare" in figures:
        now, old = figures["router"], figures["compare"]
        print("  router / compare: " + ", ".join(f"{t} {now[t] / old[t]:.2f}x" for t in now))
    return 0


if __name__ == "__main__":
    sys.exit(main())

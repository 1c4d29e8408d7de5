"""What the agent sandbox costs: the same agent processes and the same router traffic with and
without it, measured in one run, baseline first.

    python benchmarks/agent_sandbox.py [--repeats 20] [--calls 200]

Figures (medians with [min, max]):
- start-up: one agent process (`node -e 0` and the base `python -c pass`) through `run_process`,
  plain versus inside the cell's bubblewrap sandbox (what each agent invocation pays once);
- one HTTP round trip to a small local server, direct TCP versus inside the sandbox through the
  forwarder and the Unix socket (what each LLM call pays);
- a 20-event streamed answer, likewise (total time to the last byte).
The machine (CPU model, cores, load average before and after) is printed with the figures.
"""
from __future__ import annotations

import argparse
import http.server
import os
import shutil
import socket
import socketserver
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_arena.agents.base import AgentSandbox  # noqa: E402
from pytest_arena.agents.process import UNSANDBOXED, base_env, run_process  # noqa: E402
from pytest_arena.cell import provenance  # noqa: E402
from pytest_arena.sandbox.run import RouterLink, base_python, sandbox_kind  # noqa: E402

STREAM_EVENTS = 20


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(STREAM_EVENTS):
                data = f"data: {{\"i\": {i}}}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TCPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def get_request(self):
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as uvicorn does: no Nagle delay
        return conn, addr


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("local", 0)


CLIENT = textwrap.dedent("""
    import http.client, sys, time
    port, calls, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        conn.request("GET", path)
        conn.getresponse().read()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(times[len(times) // 2])
""")


def machine() -> str:
    prov = provenance.collect(sandbox_kind())
    return f"{prov.cpu}, {prov.cpus} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def summary(values: list[float], unit: str) -> str:
    return f"{statistics.median(values):8.2f} {unit} [{min(values):.2f}, {max(values):.2f}]"


def run(cmd: list[str], work: Path, box: AgentSandbox | None, timeout_s: float = 120):
    """``cmd`` as an agent process: plain, or inside ``box``; exits on failure."""
    env = base_env(work / "home")
    result = run_process(cmd, cwd=work, env=env, timeout_s=timeout_s, log_dir=work / "logs",
                         sandbox=box or UNSANDBOXED)
    if result.exit_code != 0:
        raise SystemExit(f"{cmd} failed: {result.tail()}")
    return result


def timed_process(cmd: list[str], work: Path, box: AgentSandbox | None) -> float:
    start = time.perf_counter()
    run(cmd, work, box)
    return (time.perf_counter() - start) * 1000


def client_median(work: Path, port: int, calls: int, path: str, box: AgentSandbox | None) -> float:
    script = work / "client.py"
    script.write_text(CLIENT)
    result = run([base_python(), str(script), str(port), str(calls), path], work, box)
    return float(result.stdout_path.read_text().strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    if sandbox_kind() != "bwrap":
        raise SystemExit("bubblewrap is not usable here: nothing to measure")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="arena-bench-", dir=os.environ.get("ARENA_BENCH_DIR")) as tmp:
        work = Path(tmp) / "workspace"
        (work / "home").mkdir(parents=True)
        uds = Path(tmp) / "router.sock"
        tcp = TCPServer(("127.0.0.1", 0), Handler)
        unix = UnixServer(str(uds), Handler)
        for server in (tcp, unix):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        port = tcp.server_address[1]
        box = AgentSandbox(kind="bwrap", writable=(work,), router=RouterLink(uds_path=str(uds), port=port))

        starts = {}
        for label, cmd in (("python -c pass", [base_python(), "-c", "pass"]),
                           ("node -e 0", [shutil.which("node") or "node", "-e", "0"])):
            if not Path(cmd[0]).is_file():
                continue  # no node on this machine
            plain = [timed_process(cmd, work, None) for _ in range(args.repeats)]
            boxed = [timed_process(cmd, work, box) for _ in range(args.repeats)]
            starts[label] = (plain, boxed)
        calls = {}
        for label, path in (("round trip", "/small"), (f"stream of {STREAM_EVENTS} events", "/stream")):
            plain = [client_median(work, port, args.calls, path, None) for _ in range(5)]
            boxed = [client_median(work, port, args.calls, path, box) for _ in range(5)]
            calls[label] = (plain, boxed)
        for server in (tcp, unix):
            server.shutdown()
            server.server_close()

    print(f"\nagent process start-up, {args.repeats} runs each (plain subprocess = baseline):")
    for label, (plain, boxed) in starts.items():
        extra = statistics.median(boxed) - statistics.median(plain)
        print(f"  {label:16} plain {summary(plain, 'ms')}   sandboxed {summary(boxed, 'ms')}   "
              f"+{extra:.1f} ms ({statistics.median(boxed) / statistics.median(plain):.2f}x)")
    print(f"\nper LLM call, median of {args.calls} calls per client, 5 clients each (direct TCP = baseline):")
    for label, (plain, boxed) in calls.items():
        extra = statistics.median(boxed) - statistics.median(plain)
        print(f"  {label:20} direct {summary(plain, 'ms')}   via forwarder + socket {summary(boxed, 'ms')}   "
              f"+{extra:.3f} ms")
    print(f"\nmachine after: {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

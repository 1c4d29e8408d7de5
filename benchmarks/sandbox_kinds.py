"""What each sandbox kind costs, against a bare process in the same run: every kind that works on
this machine (bwrap, unshare, subprocess, container; seatbelt on a Mac), measured round-robin so
that a burst of load falls on all of them alike.

    python benchmarks/sandbox_kinds.py [--repeats 15] [--calls 100]

Figures (medians with [min, max], the ratio and the added milliseconds against the baseline):
- start-up per process: a fresh box and the base interpreter's ``-c pass`` in it, closed after,
  which is what ``run_sandboxed`` pays for every command today (a container kind starts and
  removes its container here); baseline: the same process started bare;
- added cost per call in an open box: the same process run in a box opened once (for a container:
  one ``podman exec``; the argv-prefix kinds hold nothing, so it equals their start-up);
- per LLM call: one HTTP round trip from inside the box to the router's Unix socket through the
  forwarder, for kinds with a router link; baseline: direct TCP from a bare process.
The container kind needs its image (``python -m pytest_arena setup --container-image``;
``ARENA_CONTAINER_DIR`` names where it was built).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The servers, the client and the machine line of the agent-sandbox benchmark, shared.
from benchmarks.agent_sandbox import CLIENT, Handler, TCPServer, UnixServer, machine  # noqa: E402
from pytest_arena.paths import base_python  # noqa: E402
from pytest_arena.sandbox import BoxSpec, Limits, RouterLink, get_sandbox_kind, sandbox_kinds  # noqa: E402
from pytest_arena.sandbox.kinds import availability  # noqa: E402

KINDS = ("bwrap", "seatbelt", "unshare", "subprocess", "container")
PASS = [base_python(), "-I", "-S", "-c", "pass"]
LIMITS = Limits(wall_s=120)


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f} ms [{min(values):.1f}, {max(values):.1f}]"


def versus(values: list[float], base: list[float]) -> str:
    median, baseline = statistics.median(values), statistics.median(base)
    return f"{summary(values)}  {median / baseline:6.1f}x  +{median - baseline:.1f} ms"


def bare(cmd: list[str], work: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=work, stdin=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def fresh_box(kind: str, spec: BoxSpec) -> float:
    start = time.perf_counter()
    with get_sandbox_kind(kind).open(spec) as box:
        result = box.run(PASS, LIMITS)
    if result.exit_code != 0:
        raise SystemExit(f"{kind}: {result.stderr}")
    return (time.perf_counter() - start) * 1000


def in_box(box, kind: str) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = box.run(PASS, LIMITS)
    if result.exit_code != 0:
        raise SystemExit(f"{kind}: {result.stderr}")
    return (time.perf_counter() - start) * 1000


def round_trip(box, client: Path, port: int, calls: int) -> float:  # type: ignore[no-untyped-def]
    """The median round trip (ms) of ``calls`` HTTP requests made from inside ``box`` (None: bare)."""
    cmd = [base_python(), "-I", "-S", str(client), str(port), str(calls), "/small"]
    if box is None:
        return float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    result = box.run(cmd, LIMITS)
    if result.exit_code != 0:
        raise SystemExit(result.stderr)
    return float(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    registered = {k.name for k in sandbox_kinds()}
    here = [k for k in KINDS if k in registered and availability(k)]
    missing = [f"{k} ({get_sandbox_kind(k).title} {availability(k).reason})" for k in KINDS
               if k in registered and k not in here]
    print(f"machine: {machine()}")
    print(f"kinds here: {', '.join(here)}" + (f"; not here: {'; '.join(missing)}" if missing else ""))
    with tempfile.TemporaryDirectory(prefix="arena-bench-", dir=os.environ.get("ARENA_BENCH_DIR", "/var/tmp")) as tmp:
        work = Path(tmp) / "workspace"
        work.mkdir()
        client = work / "client.py"
        client.write_text(CLIENT)
        uds = Path(tmp) / "router.sock"
        tcp, unix = TCPServer(("127.0.0.1", 0), Handler), UnixServer(str(uds), Handler)
        for server in (tcp, unix):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        port = tcp.server_address[1]
        plain_spec = BoxSpec(workdir=work)
        linked_spec = BoxSpec(workdir=work, router=RouterLink(uds_path=str(uds), port=port))
        linked = [k for k in here if get_sandbox_kind(k).guarantees.router_link == "hard"]

        start: dict[str, list[float]] = {k: [] for k in ["bare", *here]}
        call: dict[str, list[float]] = {k: [] for k in ["bare", *here]}
        http_ms: dict[str, list[float]] = {k: [] for k in ["bare", *linked]}
        boxes = {k: get_sandbox_kind(k).open(plain_spec) for k in here}
        linked_boxes = {k: get_sandbox_kind(k).open(linked_spec) for k in linked}
        try:
            for box in (*boxes.values(), *linked_boxes.values()):
                box.run(PASS, LIMITS)  # a held box is open and warm before the clock starts
            for _ in range(args.repeats):  # round-robin: every kind sees the same load
                start["bare"].append(bare(PASS, work))
                call["bare"].append(bare(PASS, work))
                for kind in here:
                    start[kind].append(fresh_box(kind, plain_spec))
                    call[kind].append(in_box(boxes[kind], kind))
            for _ in range(5):
                http_ms["bare"].append(round_trip(None, client, port, args.calls))
                for kind in linked:
                    http_ms[kind].append(round_trip(linked_boxes[kind], client, port, args.calls))
        finally:
            for box in (*boxes.values(), *linked_boxes.values()):
                box.close()
            for server in (tcp, unix):
                server.shutdown()
                server.server_close()

    print(f"\nstart-up per process: a fresh box + `python -I -S -c pass`, {args.repeats} runs each "
          "(median [min, max], ratio and added time against bare):")
    for kind, values in start.items():
        print(f"  {kind:11} {summary(values) if kind == 'bare' else versus(values, start['bare'])}")
    print("\nper call in an open box: the same process, the box opened once:")
    for kind, values in call.items():
        print(f"  {kind:11} {summary(values) if kind == 'bare' else versus(values, call['bare'])}")
    if linked:
        print(f"\nper LLM call: one HTTP round trip (median of {args.calls} per client, 5 clients), "
              "through the forwarder and the router's Unix socket vs direct TCP:")
        for kind, values in http_ms.items():
            med, base = statistics.median(values), statistics.median(http_ms["bare"])
            label = f"{med:.3f} ms [{min(values):.3f}, {max(values):.3f}]"
            print(f"  {kind:11} {label}" + ("" if kind == "bare" else f"  +{med - base:.3f} ms"))
    print(f"\nmachine after: {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

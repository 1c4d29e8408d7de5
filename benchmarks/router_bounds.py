"""The router reading one large request body: the old read (``body += chunk``, reimplemented here as
the baseline) against the current one (router/app.py ``_read_body``: one growing buffer), in the
same process, through the real router (uvicorn + httptools, as in a pytest run).

    python benchmarks/router_bounds.py [--size-mb 96] [--runs 3]

Each run sends one body of ``--size-mb`` MB (a chat request with two messages, a plain socket
writing it without copies) to a router whose body cap is off and whose message cap is 1, so the
body is read and parsed whole and then refused (400) without calling any model. The two reads
alternate, old first, then the current read once more with the default 32 MiB cap on, as in every
pytest run ("capped": refused with 413, the body not kept). Reported per read: the time
``_read_body`` took, the whole request's time (read, parse, refusal, as the client saw it), and the
peak resident memory each added to the process (VmHWM when the read returned, and after the
request, less VmRSS before it; the high-water mark is reset through /proc/self/clear_refs before
each run). Median [min-max] over the runs. The request's peak is mostly the parse (the body and the
text it holds, side by side), the same for both reads.

Figures (2 cores shared with other work, load ~6; 96 MB, 5 runs): old read 12.0 s [10.8-13.3],
peak +184 MiB [183-240]; new read 0.13 s [0.09-0.19], +92 MiB [92-125]; capped (refused) 0.08 s
[0.06-0.14], +0 MiB.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest_arena.router.app as router_app  # noqa: E402
from pytest_arena.router.contracts import BackendSpec, RunSpec  # noqa: E402
from pytest_arena.router.service import RouterSettings, start_router  # noqa: E402


async def old_read_body(receive, scope=None, cap=None):
    """The read before the bounds (router/app.py at 26c3dba): quadratic in the body's size."""
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body", False):
        message = await receive()
        body += message.get("body", b"")
    return body


NEW_READ = router_app._read_body
DEFAULT_CAP = RouterSettings().max_body_bytes
READ_S: list[float] = []
READ_PEAK_KIB: list[int] = []  # VmHWM when the read returned, before the body is parsed


def timed(read):
    async def wrapper(receive, scope=None, cap=None):
        started = time.perf_counter()
        try:
            return await read(receive, scope, cap)
        finally:  # a body over the cap raises, once it is read (drained)
            READ_S.append(time.perf_counter() - started)
            READ_PEAK_KIB.append(_status_kib("VmHWM"))
    return wrapper


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def send(port: int, path: str, token: str, body: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % (path.encode(), token.encode(), len(body)))
        sock.sendall(memoryview(body))
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return int(answer.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=96.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    size = int(args.size_mb * 1_000_000)
    head = b'{"model": "m", "messages": [{"role": "user", "content": "'
    tail = b'"}, {"role": "user", "content": "again"}]}'
    body = head + b"x" * (size - len(head) - len(tail)) + tail

    handle = start_router(RouterSettings(max_body_bytes=None, max_messages=1, max_inflight_per_run=None))
    scripted = BackendSpec(kind="scripted", model="scripted", label="scripted")
    ep = handle.register_run(RunSpec(run_id="bench", strategy="always-local", local=scripted, cloud=scripted))
    path = ep.openai_base.split("://", 1)[1].split("/", 1)[1]
    path = "/" + path + "/chat/completions"
    can_reset = reset_peak()
    results: dict[str, list[tuple[float, float, float, float]]] = {"old": [], "new": [], "capped": []}
    try:
        for run in range(args.runs):
            for name, read in (("old", old_read_body), ("new", NEW_READ), ("capped", NEW_READ)):
                router_app._read_body = timed(read)
                # "capped": the default 32 MiB cap on, as in every pytest run: refused with 413
                handle._core.settings.max_body_bytes = DEFAULT_CAP if name == "capped" else None
                gc.collect()
                reset_peak()
                before = _status_kib("VmRSS")
                started = time.perf_counter()
                status = send(handle.port, path, ep.api_key, body)
                total = time.perf_counter() - started
                peak = _status_kib("VmHWM") - before
                read_peak = READ_PEAK_KIB[-1] - before
                over = name == "capped" and len(body) > DEFAULT_CAP
                assert status == (413 if over else 400), status  # 400: parsed whole, over the message cap
                results[name].append((READ_S[-1], read_peak / 1024, total, peak / 1024))
                print(f"run {run + 1} {name}: read {READ_S[-1]:.3f} s, peak +{read_peak / 1024:.0f} MiB; "
                      f"request {total:.3f} s, peak +{peak / 1024:.0f} MiB", flush=True)
    finally:
        router_app._read_body = NEW_READ
        handle.close()

    def fmt(values: list[float], unit: str, digits: int) -> str:
        return (f"{statistics.median(values):.{digits}f} {unit} "
                f"[{min(values):.{digits}f}-{max(values):.{digits}f}]")

    print(f"\n{len(body) / 1e6:.0f} MB body, {args.runs} runs, median [min-max]; {os.cpu_count()} cores, "
          f"Python {platform.python_version()}" + ("" if can_reset else "; peak RSS not resettable here"))
    print(f"{'':<6}{'_read_body':>28}{'peak RSS, read':>22}{'whole request':>28}{'peak RSS, request':>22}")
    for name, rows in results.items():
        reads, read_peaks, totals, peaks = (list(column) for column in zip(*rows))
        print(f"{name:<6}{fmt(reads, 's', 3):>28}{fmt(read_peaks, 'MiB', 0):>22}{fmt(totals, 's', 3):>28}"
              f"{fmt(peaks, 'MiB', 0):>22}")


if __name__ == "__main__":
    main()

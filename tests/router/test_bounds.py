"""The router's bounds on what one agent can make it hold: the request body's size, the number of
messages in one request and the calls of one run in flight, each refused with a clear message and a
``rejected`` ledger record; and the local model's slot across processes, granted in arrival order,
its wait not charged to the call's wall-time guard."""
from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fake_upstreams import TEXT

from pytest_arena.router.contracts import BackendSpec, LocalGuards, RunSpec
from pytest_arena.router.limits import BackendLimit
from pytest_arena.router.service import RouterSettings, start_router

ROOT = Path(__file__).resolve().parents[2]
HI = [{"role": "user", "content": "hi"}]


def _post(ep, body: bytes | None = None, timeout: float = 60, **kw) -> httpx.Response:
    payload = body if body is not None else json.dumps({"model": ep.model, "messages": HI, **kw}).encode()
    return httpx.post(ep.openai_base + "/chat/completions", content=payload, timeout=timeout,
                      headers={"Authorization": f"Bearer {ep.api_key}", "Content-Type": "application/json"})


@pytest.fixture
def bounded(upstream, tmp_path):
    """A router with small bounds: 5 messages a request, 2 calls of a run in flight."""
    handle = start_router(RouterSettings(ledger_path=tmp_path / "ledger.jsonl", max_messages=5,
                                         max_inflight_per_run=2, retry_backoff_s=0.01))
    yield handle
    handle.close()


def _run(handle, upstream, run_id: str, local_model: str = "qwen:fake", **spec_kw):
    spec = RunSpec(run_id=run_id, strategy="always-local",
                   local=BackendSpec(kind="ollama", model=local_model, label=f"ollama/{local_model}",
                                     base_url=upstream.base_url),
                   cloud=BackendSpec(kind="scripted", model="scripted", label="scripted"), **spec_kw)
    return spec, handle.register_run(spec)


# ---------------------------------------------------------------------- body size
def _big_body(size: int) -> bytes:
    head = b'{"model": "m", "messages": [{"role": "user", "content": "'
    tail = b'"}]}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def _send_raw(handle, ep, body: bytes, chunked: bool) -> tuple[int, dict]:
    """POST ``body`` over a plain socket (no client library copying it: the memory measured is the
    router's), declared by Content-Length or sent in 1 MiB chunks; the answer's status and JSON."""
    path = ep.openai_base.split("://", 1)[1].split("/", 1)[1] + "/chat/completions"
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(body)
    with socket.create_connection(("127.0.0.1", handle.port)) as sock:
        sock.sendall(b"POST /%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     b"Content-Type: application/json\r\n%s\r\n\r\n" % (path.encode(), ep.api_key.encode(), framing))
        view = memoryview(body)
        if chunked:
            for i in range(0, len(body), 1 << 20):
                piece = view[i:i + (1 << 20)]
                sock.sendall(b"%x\r\n" % len(piece))
                sock.sendall(piece)
                sock.sendall(b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        else:
            sock.sendall(view)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_cap_is_a_413_recorded_without_holding_it(make_run, router, chunked):
    """40 MB against the default 32 MiB cap: refused with 413, one ``rejected`` record, and the
    router never holds the body (the old read held it twice over, quadratically copied: 80 MB
    and more at its peak)."""
    spec, ep = make_run("always-local")
    body = _big_body(40_000_000)
    gc.collect()
    tracemalloc.start()
    try:
        status, answer = _send_raw(router, ep, body, chunked)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 413, answer
    error = answer["error"]
    assert error["type"] == "request_too_large"
    assert "over the router's cap of 33,554,432 bytes (32 MiB, RouterSettings.max_body_bytes)" in error["message"]
    # Declared too large: nothing kept. Chunked: at most the cap, dropped at once.
    assert peak < (4 << 20 if not chunked else 40 << 20), f"peak {peak / 2**20:.1f} MiB while refusing"
    totals = router.finish_run(spec.run_id)
    assert totals.statuses == {"rejected": 1}
    assert totals.records[0].error == error["message"]


def test_a_large_body_under_the_cap_is_read_whole(make_run, router, upstream):
    spec, ep = make_run("always-local")
    content = "y" * 3_000_000  # several reads of the socket: the growing buffer's path
    resp = _post(ep, messages=[{"role": "user", "content": content}])
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == TEXT
    assert upstream.requests[-1][2]["messages"][-1]["content"] == content
    assert router.finish_run(spec.run_id).statuses == {"ok": 1}


def test_the_body_cap_is_a_setting(upstream, tmp_path):
    with start_router(RouterSettings(max_body_bytes=1000)) as handle:
        spec, ep = _run(handle, upstream, "small-cap")
        assert _post(ep, messages=[{"role": "user", "content": "z" * 900}]).status_code == 200
        resp = _post(ep, messages=[{"role": "user", "content": "z" * 1100}])
        assert resp.status_code == 413 and "cap of 1,000 bytes" in resp.json()["error"]["message"]
        assert handle.finish_run(spec.run_id).statuses == {"ok": 1, "rejected": 1}
    with start_router(RouterSettings(max_body_bytes=None)) as handle:  # None: no cap
        spec, ep = _run(handle, upstream, "no-cap")
        assert _post(ep, messages=[{"role": "user", "content": "z" * 1100}]).status_code == 200
        handle.finish_run(spec.run_id)


# ---------------------------------------------------------------------- messages
def test_a_request_with_too_many_messages_is_refused(bounded, upstream):
    spec, ep = _run(bounded, upstream, "msgs")
    five = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"} for i in range(5)]
    assert _post(ep, messages=five).status_code == 200
    resp = _post(ep, messages=five + [{"role": "user", "content": "one more"}])
    assert resp.status_code == 400
    message = resp.json()["error"]["message"]
    assert message == ("pytest-arena: the request has 6 messages, over the router's cap of 5 "
                       "(RouterSettings.max_messages)")
    totals = bounded.finish_run(spec.run_id)
    assert totals.statuses == {"ok": 1, "rejected": 1}
    assert [r.error for r in totals.records if r.status == "rejected"] == [message]


# ---------------------------------------------------------------------- calls in flight
def _open_stream(handle, ep) -> socket.socket:
    """Start a streamed call (to a model that never finishes) and return once it is answering."""
    body = json.dumps({"model": "m", "messages": HI, "stream": True}).encode()
    path = ep.openai_base.split("://", 1)[1].split("/", 1)[1] + "/chat/completions"
    sock = socket.create_connection(("127.0.0.1", handle.port))
    sock.sendall(b"POST /%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (path.encode(), ep.api_key.encode(), len(body), body))
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    return sock


def test_calls_over_the_in_flight_cap_get_a_429(bounded, upstream):
    """Two calls of the run hang in flight; the third is refused at once with 429 and Retry-After
    (agents' SDKs back off and retry), before its body is read. Another run is not affected."""
    spec, ep = _run(bounded, upstream, "flight", local_model="hang-flight:1")
    socks = [_open_stream(bounded, ep) for _ in range(2)]
    try:
        started = time.monotonic()
        resp = _post(ep, timeout=10)
        assert time.monotonic() - started < 2
        assert resp.status_code == 429 and resp.headers["retry-after"] == "1"
        message = resp.json()["error"]["message"]
        assert "2 calls of this run are already in flight" in message
        assert "RouterSettings.max_inflight_per_run=2" in message
        other_spec, other = _run(bounded, upstream, "flight-other")
        assert _post(other).status_code == 200  # the cap is per run
        bounded.finish_run(other_spec.run_id)
    finally:
        for sock in socks:
            sock.close()
    totals = bounded.finish_run(spec.run_id, timeout_s=10)
    assert totals.statuses == {"rejected": 1, "client_error": 2}
    assert [r.error for r in totals.records if r.status == "rejected"] == [message]


def test_calls_whose_bodies_are_still_arriving_count_as_in_flight(bounded, upstream):
    """Two calls that sent their headers but not yet their bodies hold the run's two places."""
    spec, ep = _run(bounded, upstream, "flight-trickle")
    path = ep.openai_base.split("://", 1)[1].split("/", 1)[1] + "/chat/completions"
    socks = []
    try:
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", bounded.port))
            sock.sendall(b"POST /%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: "
                         b"application/json\r\nContent-Length: 100\r\n\r\n{" % (path.encode(), ep.api_key.encode()))
            socks.append(sock)
        time.sleep(0.3)  # both are being read
        assert _post(ep, timeout=10).status_code == 429
    finally:
        for sock in socks:
            sock.close()
    deadline = time.monotonic() + 5
    while (resp := _post(ep, timeout=10)).status_code == 429 and time.monotonic() < deadline:
        time.sleep(0.05)  # the two cut requests are let go
    assert resp.status_code == 200
    bounded.finish_run(spec.run_id)


def test_a_call_is_admitted_again_once_one_in_flight_ends(bounded, upstream):
    spec, ep = _run(bounded, upstream, "flight-again", local_model="delay800-flight:1")
    with ThreadPoolExecutor(3) as pool:
        codes = sorted(pool.map(lambda _: _post(ep).status_code, range(3)))
    assert codes == [200, 200, 429]
    assert _post(ep).status_code == 200
    assert bounded.finish_run(spec.run_id).statuses == {"ok": 3, "rejected": 1}


# ---------------------------------------------------------------------- the slot's wait and the guard
def test_waiting_for_the_local_slot_is_not_charged_to_the_wall_time_guard(upstream, tmp_path):
    """One slot, a model busy 0.8 s a call, a 1.2 s guard: the second of two calls waits 0.8 s for
    the slot and then answers in 0.8 s. Its guard starts when the slot is granted, so it is not cut
    (charged from arrival, it would have been at 1.2 s)."""
    with start_router(RouterSettings(lock_dir=tmp_path / "locks")) as handle:
        local = BackendSpec(kind="ollama", model="delay800-guard:1", label="ollama/delay800-guard",
                            base_url=upstream.base_url, max_concurrency=1)
        spec = RunSpec(run_id="guard", strategy="always-local", local=local,
                       cloud=BackendSpec(kind="scripted", model="scripted", label="scripted"),
                       guards=LocalGuards(wall_timeout_s=1.2))
        ep = handle.register_run(spec)
        with ThreadPoolExecutor(2) as pool:
            resps = list(pool.map(lambda _: _post(ep), range(2)))
        assert [r.status_code for r in resps] == [200, 200], [r.text for r in resps]
        totals = handle.finish_run(spec.run_id)
    assert totals.statuses == {"ok": 2}
    # the wait is still the backend's time in the ledger (upstream_ms), not hidden
    assert max(r.upstream_ms for r in totals.records) >= 1500


# ---------------------------------------------------------------------- the slot across processes
_HOG = """
import asyncio, sys, time
from pathlib import Path
from pytest_arena.router.limits import BackendLimit

async def main(lock_dir, seconds, hold):
    limit = BackendLimit(1, Path(lock_dir), key="server")
    end = time.monotonic() + seconds
    await limit.acquire()
    print("holding", flush=True)
    while True:  # one cell's calls back to back: each asks for the slot again as soon as it ends
        await asyncio.sleep(hold)
        limit.release()
        if time.monotonic() > end:
            break
        await limit.acquire()
    print("done", flush=True)

asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])))
"""

_WAITER = """
import asyncio, sys, time
from pathlib import Path
from pytest_arena.router.limits import BackendLimit

async def main(lock_dir, hold):
    limit = BackendLimit(1, Path(lock_dir), key="server")
    print("waiting", flush=True)
    await limit.acquire()
    print("granted", time.monotonic_ns(), flush=True)
    await asyncio.sleep(hold)
    limit.release()

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


def _child(script: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    proc.stdout.close()


def test_a_cell_calling_back_to_back_does_not_hog_the_slot(tmp_path):
    """Another process's cell takes the slot again the moment it lets go; a waiting call must
    still get it next (before: it polled and lost every time, waiting out the hog's whole run)."""
    hog = _child(_HOG, tmp_path, 6.0, 0.1)
    try:
        assert hog.stdout.readline().strip() == "holding"
        limit = BackendLimit(1, tmp_path, key="server")

        async def wait_for_slot() -> float:
            started = time.monotonic()
            await limit.acquire()
            waited = time.monotonic() - started
            limit.release()
            return waited

        waited = asyncio.run(wait_for_slot())
        assert waited < 1.5, f"waited {waited:.2f} s behind a cell holding the slot 0.1 s a call"
    finally:
        _stop(hog)


def test_the_slot_is_granted_across_processes_in_arrival_order(tmp_path):
    holder = BackendLimit(1, tmp_path, key="server")
    waiters = []

    async def scenario() -> list[int]:
        await holder.acquire()
        try:
            for _ in range(3):  # each one waiting before the next starts
                proc = _child(_WAITER, tmp_path, 0.05)
                waiters.append(proc)
                assert proc.stdout.readline().strip() == "waiting"
                await asyncio.sleep(0.3)
        finally:
            holder.release()
        return [int(proc.stdout.readline().split()[1]) for proc in waiters]

    try:
        granted = asyncio.run(scenario())
    finally:
        for proc in waiters:
            _stop(proc)
    assert granted == sorted(granted), "granted out of arrival order"


def test_a_process_that_dies_while_waiting_or_holding_does_not_block_the_line(tmp_path):
    holder = _child(_HOG, tmp_path, 3600.0, 3600.0)  # takes the slot and keeps it
    dead_waiter = live_waiter = None
    try:
        assert holder.stdout.readline().strip() == "holding"
        dead_waiter = _child(_WAITER, tmp_path, 0.05)
        assert dead_waiter.stdout.readline().strip() == "waiting"
        time.sleep(0.3)  # in the line, first
        dead_waiter.send_signal(signal.SIGKILL)
        dead_waiter.wait(10)
        live_waiter = _child(_WAITER, tmp_path, 0.05)
        assert live_waiter.stdout.readline().strip() == "waiting"
        time.sleep(0.3)
        holder.send_signal(signal.SIGKILL)  # the holder dies: the kernel frees its slot
        holder.wait(10)
        live_waiter.wait(5)  # granted behind a dead entry, then done
        assert live_waiter.stdout.readline().startswith("granted")
    finally:
        for proc in (holder, dead_waiter, live_waiter):
            if proc is not None:
                _stop(proc)
    assert not [p for p in os.listdir(tmp_path) if ".q" in p]  # the line is empty again


def test_python_m_router_takes_the_bounds_as_flags(upstream):
    with upstream.standalone_router("--max-messages", "2", "--max-body-mb", "0.001",
                                    "--local", f"ollama:hang-standalone:1@{upstream.base_url}") as proc:
        base = proc.stdout.readline().split(" on ")[1].split()[0]
        three = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                 {"role": "user", "content": "c"}]
        resp = httpx.post(base + "/v1/chat/completions", json={"model": "m", "messages": three}, timeout=10)
        assert resp.status_code == 400 and "cap of 2 (RouterSettings.max_messages)" in resp.text
        resp = httpx.post(base + "/v1/chat/completions", json={"model": "m", "messages": [
            {"role": "user", "content": "d" * 2000}]}, timeout=10)
        assert resp.status_code == 413 and "cap of 1,048 bytes" in resp.text
        # No cap on calls in flight by default (the standalone run is a load generator's too):
        # with 20 calls in flight, one more waits its turn instead of getting a 429.
        port = int(base.rsplit(":", 1)[1])
        body = json.dumps({"model": "m", "messages": HI, "stream": True}).encode()
        request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        socks = []
        try:
            for _ in range(21):
                socks.append(socket.create_connection(("127.0.0.1", port)))
                socks[-1].sendall(request)
            last = socks[-1]
            last.settimeout(1.0)
            with pytest.raises(socket.timeout):
                pytest.fail(f"answered at once: {last.recv(200)!r}")
        finally:
            for sock in socks:
                sock.close()

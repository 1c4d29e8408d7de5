"""A local server's concurrency limit holds across routers (one per xdist worker): calls queue
instead of piling onto a server that answers one at a time."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_arena.router.contracts import BackendSpec, RunSpec
from pytest_arena.router.service import RouterSettings, start_router


class SlowServer:
    """An OpenAI-compatible server on loopback that answers after a delay and counts overlap."""

    def __init__(self, delay_s: float = 0.25):
        self.delay_s, self.in_flight, self.max_in_flight = delay_s, 0, 0

        async def chat(request):
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            await asyncio.sleep(self.delay_s)
            self.in_flight -= 1
            return JSONResponse({"id": "x", "object": "chat.completion", "created": 0, "model": "slow",
                                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                              "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def slow():
    server = SlowServer()
    yield server
    server.stop()


def _run_through_two_routers(slow: SlowServer, lock_dir) -> int:
    routers = [start_router(RouterSettings(lock_dir=lock_dir)) for _ in range(2)]
    try:
        local = BackendSpec(kind="openai", model="slow", label="openai/slow", base_url=slow.base_url, max_concurrency=1)
        cloud = BackendSpec(kind="scripted", model="scripted", label="scripted")
        runs = [r.register_run(RunSpec(run_id=f"r{i}", strategy="always-local", local=local, cloud=cloud))
                for i, r in enumerate(routers)]

        def call(ep):
            return httpx.post(ep.openai_base + "/chat/completions", timeout=30, headers={"x-api-key": ep.api_key},
                              json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(call, runs * 3))
        assert codes == [200] * 6
        return slow.max_in_flight
    finally:
        for r in routers:
            r.close()


def test_local_limit_holds_across_routers_sharing_a_lock_dir(slow, tmp_path):
    assert _run_through_two_routers(slow, tmp_path / "locks") == 1


def test_without_a_lock_dir_each_router_only_limits_itself(slow):
    assert _run_through_two_routers(slow, None) == 2

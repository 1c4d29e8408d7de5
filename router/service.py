"""Run the router in a background thread: ``start_router(settings) -> RouterHandle``.

The router gets its own event loop (uvloop when installed; httptools parses both sides' HTTP) and
one uvicorn server listening on two sockets: an ephemeral port on 127.0.0.1, and a Unix socket that
a sandboxed agent with no network at all can reach through the socket file bound into its sandbox.
The handle is thread-safe: the plugin registers a run before starting an agent, reads its totals
afterwards, and closes the router at session end.
"""
from __future__ import annotations

import asyncio
import atexit
import http.client
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import uvicorn

from pytest_arena.router.app import build_app
from pytest_arena.router.backends.base import BackendOptions
from pytest_arena.router.contracts import RunEndpoints, RunSpec, RunTotals
from pytest_arena.router.core import CoreSettings, RouterCore
from pytest_arena.router.ledger import Ledger
from pytest_arena.router.pricing import load_pricing
from pytest_arena.router.runs import Runs

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_START_TIMEOUT_S = 15.0

_uvloop: ModuleType | None
try:
    import uvloop as _uvloop
except ImportError:  # pragma: no cover - plain asyncio works, only slower
    _uvloop = None
_HTTP_IMPL = "httptools"  # a dependency: the upstream client (backends/upstream.py) parses with it too


@dataclass(slots=True)
class RouterSettings:
    ledger_path: str | Path | None = None  # JSONL, one LedgerRecord per line; None: memory only
    session_budget_usd: float | None = None  # cloud USD cap for the whole session
    pricing_path: str | Path | None = None  # None: router/data/pricing.json
    routing_headers: bool = True  # X-Arena-Choice/-Strategy/-Backend/-Run on every answer
    env_file: str | Path | None = None  # .env file consulted for API keys missing from the environment
    max_retries: int = 3  # upstream 429/5xx/connection failures are retried this many times
    retry_backoff_s: float = 0.5  # first retry delay; doubles per retry (Retry-After wins)
    cloud_timeout_s: float = 600.0  # longest silence on a cloud connection before it counts as failed
    host: str = "127.0.0.1"
    port: int = 0  # 0: an ephemeral port
    # also serve this run without the /run/<id> prefix (python -m pytest_arena.router)
    unscoped_run_id: str | None = None
    # The token the unscoped run requires (python -m pytest_arena.router --token); None leaves that run open
    # to any local caller. Every other run gets its own random token (RunEndpoints.api_key).
    unscoped_token: str | None = None
    # The Unix socket the router also listens on. None: router.sock in a fresh private (0700)
    # directory under the system temp dir, removed on close.
    uds_path: str | Path | None = None
    # Slot files that make a loopback server's max_concurrency hold across processes (xdist
    # workers, parallel sessions); None keeps limits per router. See router/limits.py.
    lock_dir: str | Path | None = None
    # Bounds on what one agent can make the router hold (None disables each). A request body over
    # max_body_bytes is refused with 413, one with more than max_messages messages with 400, and a
    # call arriving while max_inflight_per_run calls of its run are in flight with 429 (before its
    # body is read); each refusal is a ``rejected`` ledger record. See docs/router.md.
    max_body_bytes: int | None = 32 * 2**20
    max_messages: int | None = 10_000
    max_inflight_per_run: int | None = 16


class RouterHandle:
    """A running router. All methods may be called from any thread except the router's own."""

    def __init__(self, settings: RouterSettings, runs: Runs, server: uvicorn.Server,
                 loop: asyncio.AbstractEventLoop, thread: threading.Thread, port: int, unix: _UnixListener):
        self.settings = settings
        self.port = port
        self.base_url = f"http://{settings.host}:{port}"
        self.uds_path = str(unix.path)  # the same app over a Unix socket (for sandboxes with no network)
        self._unix = unix
        self._runs = runs
        self._core: RouterCore = runs.core
        self._server = server
        self._loop = loop
        self._thread = thread
        self._closed = False

    def _run(self, coro: Coroutine[Any, Any, _T], timeout_s: float | None = None) -> _T:
        if self._closed:
            coro.close()
            raise RuntimeError("the router is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    def register_run(self, spec: RunSpec) -> RunEndpoints:
        """Register one cell's routing setup; returns the run-scoped base URLs for its agent.
        Raises pytest_arena.router.errors.ConfigError with one clear message on a bad spec."""
        return self._run(self._runs.register(spec))

    def finish_run(self, run_id: str, timeout_s: float = 10) -> RunTotals:
        """Wait (up to timeout_s) until the run's in-flight calls are recorded, then unregister it."""
        return self._run(self._runs.finish(run_id, timeout_s), timeout_s + 5)

    def totals_so_far(self, run_id: str, timeout_s: float = 1.0) -> RunTotals:
        """A live run's totals so far, read on the router's loop (the ledger's sums, kept per call
        anyway): what a progress display polls, so it adds no work per LLM call."""
        async def read() -> RunTotals:
            return self._core.ledger.totals(run_id)

        return self._run(read(), timeout_s)

    @property
    def fatal_error(self) -> str | None:
        """Set once an upstream rejected an API key (401/403): the session should stop."""
        return self._core.fatal_error

    @property
    def session_cost_usd(self) -> float:
        return self._core.budget.session_spent_usd

    @property
    def ledger_path(self) -> Path | None:
        return self._core.ledger.path

    @property
    def unauthorized_calls(self) -> int:
        """Calls refused (401) because they did not present their run's token."""
        return self._core.unauthorized_calls

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._run(self._runs.aclose(), 10)
        finally:
            self._closed = True
            self._server.should_exit = True
            self._thread.join(10)
            self._core.ledger.close()
            self._unix.remove()

    def __enter__(self) -> RouterHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _UnixListener:
    """The router's Unix socket: bound at start, its file (and private directory) removed on close."""

    def __init__(self, uds_path: str | Path | None):
        self.private_dir: Path | None = None
        if uds_path:
            self.path = Path(uds_path)
        else:
            self.private_dir = Path(tempfile.mkdtemp(prefix="arena-router-"))  # mode 0700
            self.path = self.private_dir / "router.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if uds_path and self.path.is_socket() and not _answers(self.path):
                self.path.unlink()  # left behind by a router that was killed
            self.sock.bind(str(self.path))
            os.chmod(self.path, 0o600)
            atexit.register(self.remove)  # a router never closed (an interrupted session) leaves no socket
        except OSError as exc:
            self.sock.close()
            self.remove(bound=False)
            raise RuntimeError(f"pytest-arena: the router cannot listen on the Unix socket {self.path}: {exc}; "
                               "set RouterSettings.uds_path to a free, short path (at most 107 bytes)") from None

    def remove(self, bound: bool = True) -> None:
        if bound:
            atexit.unregister(self.remove)
            self.path.unlink(missing_ok=True)
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
            return True
        except OSError:
            return False


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=1)
        self.uds_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.uds_path)


def _probe_health(conn: http.client.HTTPConnection) -> bool:
    try:
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def start_router(settings: RouterSettings | None = None) -> RouterHandle:
    """Start the router on its own thread and event loop; returns once /healthz answers."""
    settings = settings or RouterSettings()
    ledger = Ledger(settings.ledger_path)
    core = RouterCore(
        CoreSettings(session_budget_usd=settings.session_budget_usd, routing_headers=settings.routing_headers,
                     unscoped_run_id=settings.unscoped_run_id, unscoped_token=settings.unscoped_token,
                     lock_dir=Path(settings.lock_dir) if settings.lock_dir else None,
                     max_body_bytes=settings.max_body_bytes, max_messages=settings.max_messages,
                     max_inflight_per_run=settings.max_inflight_per_run),
        ledger, load_pricing(settings.pricing_path),
        BackendOptions(max_retries=settings.max_retries, retry_backoff_s=settings.retry_backoff_s,
                       cloud_timeout_s=settings.cloud_timeout_s,
                       env_file=str(settings.env_file) if settings.env_file else None))
    runs = Runs(core)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
        unix = _UnixListener(settings.uds_path)
    except BaseException:
        sock.close()
        ledger.close()
        raise
    port = sock.getsockname()[1]
    runs.base_url = f"http://{settings.host}:{port}"
    config = uvicorn.Config(build_app(runs), host=settings.host, port=port, http=_HTTP_IMPL, lifespan="off",
                            log_level="warning", access_log=False, timeout_keep_alive=75, backlog=2048,
                            proxy_headers=False, server_header=False, date_header=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    loop = _uvloop.new_event_loop() if _uvloop is not None else asyncio.new_event_loop()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock, unix.sock]))
        except BaseException as exc:  # reported to start_router's caller below
            failure.append(exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            sock.close()
            unix.sock.close()

    thread = threading.Thread(target=serve, name=f"arena-router-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not (server.started and _probe_health(http.client.HTTPConnection(settings.host, port, timeout=1))
               and _probe_health(_UnixHTTPConnection(str(unix.path)))):
        if failure or not thread.is_alive():
            ledger.close()
            unix.remove()
            raise RuntimeError(f"pytest-arena: the router failed to start on {settings.host}:{port}: "
                               f"{failure[0] if failure else 'thread exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            ledger.close()
            unix.remove()
            raise RuntimeError(f"pytest-arena: the router did not answer /healthz on port {port} "
                               f"within {_START_TIMEOUT_S:g} s")
        time.sleep(0.01)
    return RouterHandle(settings, runs, server, loop, thread, port, unix)

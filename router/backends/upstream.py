"""The router's HTTP/1.1 client for its upstreams: an asyncio protocol, httptools' parser, a keep-alive pool.

Why our own and not aiohttp (the client until issue 12): a streamed call reaches the router as
~23 socket reads (one per SSE chunk under load), and counted with callgrind aiohttp spends ~32 k
instructions of Python on each read (its parser callbacks, payload stream, read timer and flow
control) before the router sees a byte. Here a read is one ``feed_data`` into llhttp (C), one
``on_body`` callback that appends to a list, and at most one future woken per loop turn; the
request goes out in one ``write``. See benchmarks/NOTES-router-streaming.md for the figures.

What it does, which is all the backends need: POST (any method) over http or https, bodies framed by
Content-Length, chunked or the connection's close, gzip/deflate bodies decoded if an upstream
compresses though asked not to, 1xx interim responses skipped, reads paused while more than
``_HIGH_WATER`` bytes wait unread, idle connections reused for ``keepalive_s`` (newest first), a
request that meets a reused connection already closed by the upstream sent once more on a new one
(no byte of it was answered, so it was not served), and a host's addresses tried as "happy eyeballs"
does (aiohttp did too), so a broken IPv6 route costs 0.25 s per new connection. Not done, because no
upstream of ours needs it: proxies from the environment (aiohttp ignored them by default too),
redirects, HTTP/2.

Errors: :class:`UpstreamClosed` (a ``ConnectionError``) when a connection fails or ends before its
response is complete, :class:`UpstreamTimeout` (a ``TimeoutError``) when connecting or a read waits
longer than asked.
"""
from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import zlib
from collections import deque
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

_HIGH_WATER = 256 * 1024
_STAGGER_S = 0.25  # RFC 8305's recommended connection attempt delay
_USER_AGENT = b"pytest-arena-router"
_Key = tuple[str, int, bool]  # an upstream: host, port, TLS
_AddrInfo = tuple[Any, ...]  # one getaddrinfo() entry: family, type, proto, canonname, address


class UpstreamClosed(ConnectionError):
    """The connection failed, or ended before its response was complete."""


class UpstreamTimeout(TimeoutError):
    """Connecting, or a read, waited longer than asked."""


def _timed_out(fut: asyncio.Future[Any], seconds: float) -> None:
    if not fut.done():
        fut.set_exception(UpstreamTimeout(f"no data from the upstream for {seconds:g} s"))


class Response:
    """One response: status and headers as soon as they arrive, the body read as it comes.

    Release it (``release()`` or ``async with``) when done: a complete body returns the connection
    to the pool, anything else closes it."""

    __slots__ = ("status", "headers", "_conn", "_chunks", "_size", "_done", "_error", "_waiter",
                 "_read_timeout", "_decoder")

    def __init__(self, conn: _Connection, read_timeout: float | None):
        self.status = 0
        self.headers: dict[str, str] = {}
        self._conn = conn
        self._chunks: list[bytes] = []
        self._size = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._read_timeout = read_timeout
        self._decoder: zlib._Decompress | None = None

    # ---- fed by the connection
    def _feed(self, data: bytes) -> None:
        if self._decoder is not None:
            try:
                data = self._decoder.decompress(data)
            except zlib.error as exc:
                self._fail(UpstreamClosed(f"an undecodable compressed body ({exc})"))
                return
        if data:
            self._chunks.append(data)
            self._size += len(data)
            if self._size > _HIGH_WATER:
                self._conn.pause()
            self._wake()

    def _finish(self) -> None:
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)
        self._done = True
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        if self._error is None and not self._done:
            self._error = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(self) -> None:
        loop = self._conn.loop
        self._waiter = fut = loop.create_future()
        if self._read_timeout is None:
            await fut
            return
        handle = loop.call_later(self._read_timeout, _timed_out, fut, self._read_timeout)
        try:
            await fut
        finally:
            handle.cancel()

    # ---- read by the backend
    async def readany(self) -> bytes:
        """Everything received and not yet read (waiting for at least one byte); ``b""`` at the end."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._done:
                return b""
            await self._wait()
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        self._conn.resume()
        return data

    async def read(self) -> bytes:
        """The whole (rest of the) body."""
        parts = []
        while data := await self.readany():
            parts.append(data)
        return b"".join(parts)

    async def text(self, errors: str = "strict") -> str:
        return (await self.read()).decode("utf-8", errors)

    def is_eof(self) -> bool:
        """The body is complete and all of it has been read."""
        return self._done and not self._chunks

    def release(self) -> None:
        self._conn.release(self)  # a second release is a no-op: the connection has let go of it

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: sends a request, parses its response with httptools."""

    def __init__(self, pool: UpstreamPool, key: _Key, loop: asyncio.AbstractEventLoop):
        self.pool, self.key, self.loop = pool, key, loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self._head: asyncio.Future[Response] | None = None
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._interim = False
        self._framed = True
        self.keep_alive = False
        self.lost = False
        self.paused = False
        self.answered = False  # a byte of the current response has arrived
        self.reused = False
        self.idle_since = 0.0

    # ---- asyncio
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream connection's transport

    def data_received(self, data: bytes) -> None:
        if self.response is None:  # bytes on an idle connection: no request asked for them
            self.close()
            return
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._broken(UpstreamClosed(f"an invalid HTTP response ({exc})"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost does the rest

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = True
        self.pool._forget(self)
        resp = self.response
        if resp is None:
            return
        if self._head is not None:
            reason = f": {exc}" if exc else ""
            self._broken(UpstreamClosed(f"the connection closed before a response{reason}"))
        elif not resp._done:
            if not self._framed and exc is None:
                resp._finish()  # a body delimited by the connection's close
            else:
                resp._fail(UpstreamClosed("the connection closed mid-body"))

    # ---- httptools callbacks
    def on_message_begin(self) -> None:
        self._raw_headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            self._interim = True  # 100 Continue and the like: the real response follows
            return
        resp = self.response
        if resp is None:
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in self._raw_headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        resp.status, resp.headers = status, headers
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            resp._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            resp._decoder = zlib.decompressobj()
        self._framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()
        self.keep_alive = self._framed and self.parser.should_keep_alive()
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_result(resp)

    def on_body(self, body: bytes) -> None:
        if self.response is not None:
            self.response._feed(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self.response is not None:
            self.response._finish()

    # ---- the pool's side
    async def send(self, request: bytes, read_timeout: float | None) -> Response:
        self.response = Response(self, read_timeout)
        self.answered = False
        head: asyncio.Future[Response] = self.loop.create_future()
        self._head = head
        assert self.transport is not None  # connection_made ran before the pool handed this connection out
        self.transport.write(request)
        handle = (self.loop.call_later(read_timeout, _timed_out, head, read_timeout)
                  if read_timeout is not None else None)
        try:
            return await head
        except BaseException:
            self._head = None
            self.close()
            raise
        finally:
            if handle is not None:
                handle.cancel()

    def _broken(self, exc: BaseException) -> None:
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_exception(exc)
        elif self.response is not None:
            self.response._fail(exc)

    def pause(self) -> None:
        if not self.paused and not self.lost:
            self.paused = True
            assert self.transport is not None  # a paused connection has a response, so a transport
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and not self.lost:
            self.paused = False
            assert self.transport is not None
            self.transport.resume_reading()

    def release(self, resp: Response) -> None:
        if resp is not self.response:
            return
        self.response = None
        if resp._done and resp._error is None and self.keep_alive and not self.lost and not self.paused:
            self.idle_since = self.loop.time()
            self.pool._idle.setdefault(self.key, deque()).append(self)
        else:
            self.close()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def _try_address(loop: asyncio.AbstractEventLoop, info: _AddrInfo) -> socket.socket:
    family, type_, proto, _, address = info
    sock = socket.socket(family, type_, proto)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, address)
        return sock
    except BaseException:
        sock.close()
        raise


async def connect_socket(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """A connected TCP socket to ``host``, its addresses tried as RFC 8305 ("happy eyeballs") says:
    families interleaved, the next attempt started when the last has not connected within
    ``_STAGGER_S``, the first to connect kept. A host whose IPv6 address is unreachable without an
    error (a laptop's broken IPv6) then costs 0.25 s, not the whole connect timeout. (uvloop's
    create_connection tries addresses one after another.)"""
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    by_family: dict[int, list[_AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    queue = [info for group in itertools.zip_longest(*by_family.values()) for info in group if info is not None]
    pending: set[asyncio.Task[socket.socket]] = set()
    errors: list[BaseException] = []
    try:
        while queue or pending:
            if queue:
                pending.add(loop.create_task(_try_address(loop, queue.pop(0))))
            done, pending = await asyncio.wait(pending, timeout=_STAGGER_S if queue else None,
                                               return_when=asyncio.FIRST_COMPLETED)
            winner: socket.socket | None = None
            for task in done:
                if (exc := task.exception()) is not None:
                    errors.append(exc)
                elif winner is None:
                    winner = task.result()
                else:
                    task.result().close()  # two connected in the same turn: keep one
            if winner is not None:
                return winner
        raise errors[0] if errors else OSError(f"no address found for {host}")
    finally:
        for task in pending:
            task.cancel()
        for result in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(result, socket.socket):
                result.close()  # connected just as another won


class UpstreamPool:
    """Keep-alive connections to any number of upstreams, for one event loop."""

    def __init__(self, *, connect_timeout_s: float = 10.0, keepalive_s: float = 60.0,
                 ssl_context: ssl.SSLContext | None = None):
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self._idle: dict[_Key, deque[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._targets: dict[str, tuple[_Key, bytes, bytes]] = {}
        self._ssl = ssl_context  # None: the system's trusted certificates, made on the first https call
        self.closed = False

    def _target(self, url: str) -> tuple[_Key, bytes, bytes]:
        target = self._targets.get(url)
        if target is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
            tls = parts.scheme == "https"
            port = parts.port or (443 if tls else 80)
            host = parts.hostname
            default_port = port == (443 if tls else 80)
            host_header = (f"[{host}]" if ":" in host else host) + ("" if default_port else f":{port}")
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            target = ((host, port, tls), host_header.encode("idna"), path.encode("ascii"))
            self._targets[url] = target
        return target

    async def request(self, method: str, url: str, body: bytes, headers: dict[str, str], *,
                      read_timeout: float | None = None) -> Response:
        """Send one request; returns once the response's status and headers are in."""
        key, host, path = self._target(url)
        head = [method.encode("ascii"), b" ", path, b" HTTP/1.1\r\nHost: ", host,
                b"\r\nUser-Agent: ", _USER_AGENT, b"\r\nAccept-Encoding: identity\r\nContent-Length: ",
                str(len(body)).encode("ascii"), b"\r\n"]
        for name, value in headers.items():
            if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
                raise ValueError(f"request header {name!r} has a line break")  # never the value: it may be a key
            head += (name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n")
        head += (b"\r\n", body)
        request = b"".join(head)
        while True:
            conn = await self._acquire(key)
            try:
                return await conn.send(request, read_timeout)
            except UpstreamClosed:
                if conn.reused and not conn.answered:
                    continue  # closed by the upstream while idle: nothing was served, try a new one
                raise

    async def _acquire(self, key: _Key) -> _Connection:
        if self.closed:
            raise UpstreamClosed("the router is shutting down")
        idle = self._idle.get(key)
        loop = asyncio.get_running_loop()
        if idle:
            now = loop.time()
            while idle:
                conn = idle.pop()
                assert conn.transport is not None  # an idle connection has served a response
                if conn.lost or conn.transport.is_closing():
                    continue
                if now - conn.idle_since > self.keepalive_s:
                    conn.close()
                    continue
                conn.reused = True
                return conn
        host, port, tls = key
        if tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                sock = await connect_socket(loop, host, port)
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, key, loop), sock=sock,
                    ssl=self._ssl if tls else None, server_hostname=host if tls else None)
        except TimeoutError:
            raise UpstreamTimeout(f"connecting to {host}:{port} took over {self.connect_timeout_s:g} s") from None
        except OSError as exc:
            raise UpstreamClosed(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self._open.add(conn)
        return conn

    def _forget(self, conn: _Connection) -> None:
        self._open.discard(conn)
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def aclose(self) -> None:
        """Close every connection, idle or busy."""
        self.closed = True
        conns = list(self._open)
        self._idle.clear()
        for conn in conns:
            conn.close()
        if conns:
            await asyncio.sleep(0)  # let the transports' connection_lost run

"""The router's own HTTP/1.1 client (router/backends/upstream.py) against servers that write exact bytes.

Each server here is a raw asyncio TCP server, so a test controls framing, timing, closes and cuts
byte for byte, as real upstreams (and broken ones) do.
"""
from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from pytest_arena.router.backends.upstream import UpstreamClosed, UpstreamPool, UpstreamTimeout


class Server:
    """A TCP server whose ``handler(reader, writer, server)`` answers each connection."""

    def __init__(self, handler):
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[bytes, dict[str, str], bytes]] = []
        self.port = 0
        self._server = None

    async def __aenter__(self) -> Server:
        async def on_connect(reader, writer):
            self.connections += 1
            try:
                await self.handler(reader, writer, self)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat?x=1"

    async def read_request(self, reader) -> bool:
        """Reads one request into ``requests``; False when the client closed the connection."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        line, *fields = head.decode("latin-1").split("\r\n")[:-2]
        headers = {k.lower(): v for k, v in (f.split(": ", 1) for f in fields)}
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        self.requests.append((line.encode(), headers, body))
        return True


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def bodies_of(handler, calls: int, *, pause: float = 0.0) -> tuple[Server, list[bytes]]:
    """``calls`` requests one after another through one pool, ``pause`` seconds apart: the server
    (its counts) and the bodies read."""
    async def go():
        async with Server(handler) as server:
            pool = UpstreamPool()
            got = []
            for _ in range(calls):
                async with await pool.request("POST", server.url, b"x", {}) as resp:
                    got.append(await resp.read())
                await asyncio.sleep(pause)
            await pool.aclose()
            return server, got

    return run(go())


def reply(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{h}\r\n" for h in extra)
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


async def keep_alive_echo(reader, writer, server):
    while await server.read_request(reader):
        writer.write(reply(b"echo:" + server.requests[-1][2], "Content-Type: text/plain"))
        await writer.drain()


def test_requests_reuse_one_keep_alive_connection_and_send_what_was_asked():
    async def go():
        async with Server(keep_alive_echo) as server:
            pool = UpstreamPool()
            bodies = []
            for i in range(3):
                resp = await pool.request("POST", server.url, f"call {i}".encode(),
                                          {"Content-Type": "application/json", "X-Key": "k"})
                async with resp:
                    assert resp.status == 200 and resp.headers["content-type"] == "text/plain"
                    bodies.append(await resp.read())
            await pool.aclose()
            return server, bodies

    server, bodies = run(go())
    assert bodies == [b"echo:call 0", b"echo:call 1", b"echo:call 2"]
    assert server.connections == 1
    line, headers, body = server.requests[0]
    assert line == b"POST /v1/chat?x=1 HTTP/1.1"
    assert headers["host"] == f"127.0.0.1:{server.port}"
    assert headers["content-type"] == "application/json" and headers["x-key"] == "k"
    assert headers["content-length"] == "6" and body == b"call 0"
    assert headers["accept-encoding"] == "identity"


def test_a_chunked_stream_is_read_as_it_arrives_and_whole():
    async def go():
        first_read = asyncio.Event()

        async def stream(reader, writer, server):
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: text/event-stream\r\n\r\n")
            writer.write(b"7\r\ndata: 1\r\n")
            await writer.drain()
            await asyncio.wait_for(first_read.wait(), 5)  # the client has the first event already
            for part in (b"data: 2\n", b"data: [DONE]\n\n"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            await server.read_request(reader)  # keeps the connection open

        async with Server(stream) as server:
            pool = UpstreamPool()
            resp = await pool.request("POST", server.url, b"{}", {})
            first = await resp.readany()
            first_read.set()
            rest = await resp.read()
            eof = resp.is_eof()
            resp.release()
            await pool.aclose()
            return first, rest, eof

    first, rest, eof = run(go())
    assert first == b"data: 1"
    assert rest == b"data: 2\ndata: [DONE]\n\n" and eof


def test_a_body_ended_by_the_close_is_whole_and_its_connection_is_not_reused():
    async def close_delimited(reader, writer, server):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ")
        await writer.drain()
        writer.write(b"part two")
        await writer.drain()

    server, got = bodies_of(close_delimited, 2)
    assert got == [b"part one, part two"] * 2
    assert server.connections == 2


def test_a_connection_the_upstream_closed_while_idle_is_replaced_without_an_error():
    async def one_then_close(reader, writer, server):
        await server.read_request(reader)
        writer.write(reply(b"ok"))  # says keep-alive, then closes once the client is idle
        await writer.drain()
        await asyncio.sleep(0.05)

    server, got = bodies_of(one_then_close, 3, pause=0.2)
    assert got == [b"ok"] * 3
    assert server.connections == 3 and len(server.requests) == 3


def test_a_reused_connection_cut_as_the_request_arrives_is_retried_once_on_a_new_one():
    """The race a keep-alive client meets: the upstream closes the idle connection just as the next
    request goes out. Nothing of it was answered, so it is sent again, once, on a new connection."""
    async def close_on_second(reader, writer, server):
        number = server.connections
        await server.read_request(reader)
        writer.write(reply(b"connection %d" % number))
        await writer.drain()
        if number == 1:
            await reader.read(1)  # the second request's first byte: close without an answer
            return
        await server.read_request(reader)

    async def go():
        async with Server(close_on_second) as server:
            pool = UpstreamPool()
            async with await pool.request("POST", server.url, b"1", {}) as resp:
                first = await resp.read()
            async with await pool.request("POST", server.url, b"2", {}) as resp:
                second = await resp.read()
            await pool.aclose()
            return server, first, second

    server, first, second = run(go())
    assert (first, second) == (b"connection 1", b"connection 2")
    assert server.connections == 2 and len(server.requests) == 2


def test_a_body_cut_mid_way_is_an_error_not_a_short_answer():
    async def cut(reader, writer, server):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        await writer.drain()

    async def go():
        async with Server(cut) as server:
            pool = UpstreamPool()
            resp = await pool.request("POST", server.url, b"", {})
            with pytest.raises(UpstreamClosed, match="closed mid-body"):
                await resp.read()
            resp.release()
            await pool.aclose()

    run(go())


def test_a_silent_upstream_times_out_at_the_read_timeout():
    async def stall(reader, writer, server):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async def go():
        async with Server(stall) as server:
            pool = UpstreamPool()
            resp = await pool.request("POST", server.url, b"", {}, read_timeout=0.3)
            assert await resp.readany() == b"hello"
            t = time.monotonic()
            with pytest.raises(UpstreamTimeout, match="no data from the upstream for 0.3 s"):
                await resp.readany()
            waited = time.monotonic() - t
            resp.release()
            await pool.aclose()
            return waited

    assert 0.25 < run(go()) < 2.0


def test_headers_that_never_come_time_out_too():
    async def mute(reader, writer, server):
        await server.read_request(reader)
        await asyncio.sleep(5)

    async def go():
        async with Server(mute) as server:
            pool = UpstreamPool()
            with pytest.raises(UpstreamTimeout):
                await pool.request("POST", server.url, b"", {}, read_timeout=0.2)
            await pool.aclose()

    run(go())


def test_a_refused_connection_names_the_address():
    async def go():
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        pool = UpstreamPool()
        with pytest.raises(UpstreamClosed, match=f"cannot connect to 127.0.0.1:{port}"):
            await pool.request("POST", f"http://127.0.0.1:{port}/v1", b"", {})

    run(go())


def test_a_compressed_body_is_decoded_although_identity_was_asked():
    payload = b'{"choices": []}' * 50

    async def gzipping(reader, writer, server):
        await server.read_request(reader)
        writer.write(reply(gzip.compress(payload), "Content-Encoding: gzip"))
        await writer.drain()

    async def go():
        async with Server(gzipping) as server:
            pool = UpstreamPool()
            async with await pool.request("POST", server.url, b"", {}) as resp:
                body = await resp.read()
            await pool.aclose()
            return body

    assert run(go()) == payload


def test_an_interim_100_continue_is_skipped():
    async def continuing(reader, writer, server):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.1)  # its own read: the client must not take it for the answer
        writer.write(reply(b"final", status="201 Created"))
        await writer.drain()

    async def go():
        async with Server(continuing) as server:
            pool = UpstreamPool()
            async with await pool.request("POST", server.url, b"", {}) as resp:
                return resp.status, await resp.read()

    assert run(go()) == (201, b"final")


def test_a_large_body_nobody_reads_yet_pauses_the_socket_and_arrives_intact():
    payload = bytes(range(256)) * 8192  # 2 MiB

    async def big(reader, writer, server):
        await server.read_request(reader)
        writer.write(reply(payload))
        await writer.drain()
        await server.read_request(reader)

    async def go():
        async with Server(big) as server:
            pool = UpstreamPool()
            resp = await pool.request("POST", server.url, b"", {})
            await asyncio.sleep(0.3)  # the upstream writes on; the router's client stops reading
            paused, buffered = resp._conn.paused, resp._size
            body = await resp.read()
            resp.release()
            await pool.aclose()
            return paused, buffered, body

    paused, buffered, body = run(go())
    assert paused and buffered < len(payload) // 2
    assert body == payload


def test_closing_the_pool_ends_a_stream_in_progress_with_an_error():
    async def endless(reader, writer, server):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:
            writer.write(b"6\r\ndata:\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)

    async def go():
        async with Server(endless) as server:
            pool = UpstreamPool()
            resp = await pool.request("POST", server.url, b"", {})
            await resp.readany()
            await pool.aclose()
            with pytest.raises(UpstreamClosed):
                while await resp.readany():
                    pass
            with pytest.raises(UpstreamClosed, match="shutting down"):
                await pool.request("POST", server.url, b"", {})

    run(go())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_with_a_verified_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def go():
        async def on_connect(reader, writer):
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await reader.readuntil(b"\r\n\r\n")
                writer.write(reply(b"over tls"))
                await writer.drain()
                await reader.read(1)
            writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        url = f"https://localhost:{port}/v1/messages"
        trusting = UpstreamPool(ssl_context=ssl.create_default_context(cafile=str(cert)))
        async with await trusting.request("POST", url, b"", {}) as resp:
            body = await resp.read()
        await trusting.aclose()
        with pytest.raises(UpstreamClosed, match="cannot connect"):  # the system does not trust it
            await UpstreamPool().request("POST", url, b"", {})
        server.close()
        return body

    assert run(go()) == b"over tls"


def test_a_header_value_with_a_line_break_is_refused_and_not_sent():
    async def go():
        async with Server(keep_alive_echo) as server:
            pool = UpstreamPool()
            with pytest.raises(ValueError, match="'Authorization' has a line break") as err:
                await pool.request("POST", server.url, b"", {"Authorization": "Bearer sk-1\r\nX-Injected: 1"})
            await pool.aclose()
            return server, str(err.value)

    server, message = run(go())
    assert server.requests == [] and "sk-1" not in message


def test_bytes_on_an_idle_connection_close_it_and_the_next_request_gets_a_new_one():
    async def chatty(reader, writer, server):
        await server.read_request(reader)
        writer.write(reply(b"ok"))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(reply(b"nobody asked"))  # unsolicited: must not become the next answer
        await writer.drain()
        while await server.read_request(reader):
            writer.write(reply(b"late"))
            await writer.drain()

    server, got = bodies_of(chatty, 2, pause=0.2)
    assert got == [b"ok", b"ok"] and server.connections == 2


def test_an_address_that_never_answers_costs_a_quarter_second_not_the_connect_timeout():
    """Happy eyeballs: a host whose first address is black-holed (a laptop's broken IPv6) is reached
    on its next address once the first has not connected within 0.25 s."""
    async def go():
        async with Server(keep_alive_echo) as server:
            loop = asyncio.get_running_loop()
            real_connect = loop.sock_connect
            black_hole = ("127.0.0.2", server.port)

            async def getaddrinfo(host, port, **kw):
                assert host == "upstream.test"
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", black_hole),
                        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

            async def sock_connect(sock, address):
                if address == black_hole:
                    await asyncio.sleep(60)  # no SYN-ACK, no error: what a dropped route does
                return await real_connect(sock, address)

            loop.getaddrinfo, loop.sock_connect = getaddrinfo, sock_connect
            pool = UpstreamPool(connect_timeout_s=5)
            t = time.monotonic()
            async with await pool.request("POST", f"http://upstream.test:{server.port}/v1", b"hi", {}) as resp:
                body = await resp.read()
            took = time.monotonic() - t
            await pool.aclose()
            return server, body, took

    server, body, took = run(go())
    assert body == b"echo:hi" and server.connections == 1
    assert 0.2 < took < 2.0

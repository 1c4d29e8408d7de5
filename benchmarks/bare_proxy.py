"""The floor of a Python proxy on the router's stack, for router_overhead.py's same-run baseline.

A raw ASGI app under uvicorn (httptools, uvloop, no access log: the router's settings) that
forwards every POST to one upstream through one keep-alive client and passes the answer back
untouched: a JSON body whole, a streamed body one ``send`` per read of the upstream's socket.
No routing, no parsing, no ledger, no auth: what remains is the cost of the server and the
client library, which no router built on them can undercut.

The client is the router's own (``pytest_arena.router.backends.upstream``) by default, or with ``--client
aiohttp`` the aiohttp session the router used before issue 12 (needs the ``dev`` extra).

  python benchmarks/bare_proxy.py --port 18100 --upstream http://127.0.0.1:18000 [--client aiohttp]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the router package of this tree

_FORWARDED = ("content-type", "authorization")


async def _request_body(receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _start(status: int, media: bytes, length: int | None = None) -> dict:
    headers = [(b"content-type", media)]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http.response.start", "status": status, "headers": headers}


def _forwarded(scope) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in scope["headers"] if k.decode() in _FORWARDED}


async def _pass_back(send, resp, readany) -> None:
    """The upstream's answer to the client untouched: a JSON body whole, a streamed body one
    ``send`` per ``readany()`` (one read of the upstream's socket; ``b""`` at the end)."""
    media = resp.headers.get("content-type", "application/json").encode()
    if b"text/event-stream" not in media:
        data = await resp.read()
        await send(_start(resp.status, media, len(data)))
        await send({"type": "http.response.body", "body": data})
        return
    await send(_start(resp.status, media))
    while data := await readany():
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def make_app(upstream: str):
    """The pass-through on the router's own client."""
    from pytest_arena.router.backends.upstream import UpstreamPool

    pool: UpstreamPool | None = None

    async def app(scope, receive, send) -> None:
        nonlocal pool
        if scope["type"] != "http":
            return
        if pool is None:  # bound to the server's event loop
            pool = UpstreamPool()
        body = await _request_body(receive)
        async with await pool.request("POST", upstream + scope["path"], body, _forwarded(scope)) as resp:
            await _pass_back(send, resp, resp.readany)

    return app


def make_aiohttp_app(upstream: str):
    """The same pass-through on aiohttp (the router's client before issue 12)."""
    import aiohttp

    session: aiohttp.ClientSession | None = None

    async def app(scope, receive, send) -> None:
        nonlocal session
        if scope["type"] != "http":
            return
        if session is None:  # bound to the server's event loop
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60))
        body = await _request_body(receive)
        async with session.post(upstream + scope["path"], data=body, headers=_forwarded(scope)) as resp:
            await _pass_back(send, resp, resp.content.readany)

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="base URL of the upstream, e.g. http://127.0.0.1:18000")
    ap.add_argument("--client", choices=("router", "aiohttp"), default="router",
                    help="the upstream client: the router's own (default) or aiohttp")
    args = ap.parse_args()
    build = make_aiohttp_app if args.client == "aiohttp" else make_app
    uvicorn.run(build(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port, http="httptools",
                loop="uvloop", lifespan="off", log_level="warning", access_log=False, server_header=False,
                date_header=False, timeout_keep_alive=75, backlog=2048)


if __name__ == "__main__":
    main()

"""The floor of a Python proxy on the router's stack, for router_overhead.py's same-run baseline.

A raw ASGI app under uvicorn (httptools, uvloop, no access log: the router's settings) that
forwards every POST to one upstream through one aiohttp session and passes the answer back
untouched: a JSON body whole, a streamed body one ``send`` per read of the upstream's socket.
No routing, no parsing, no ledger, no auth: what remains is the cost of the server and the
client libraries, which no router built on them can undercut.

  python benchmarks/bare_proxy.py --port 18100 --upstream http://127.0.0.1:18000
"""
from __future__ import annotations

import argparse

import aiohttp
import uvicorn

_FORWARDED = ("content-type", "authorization")


def make_app(upstream: str):
    session: aiohttp.ClientSession | None = None

    async def app(scope, receive, send) -> None:
        nonlocal session
        if scope["type"] != "http":
            return
        if session is None:  # bound to the server's event loop
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60))
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.decode() in _FORWARDED}
        async with session.post(upstream + scope["path"], data=body, headers=headers) as resp:
            media = resp.headers.get("content-type", "application/json").encode()
            if "text/event-stream" not in resp.headers.get("content-type", ""):
                data = await resp.read()
                await send({"type": "http.response.start", "status": resp.status,
                            "headers": [(b"content-type", media), (b"content-length", str(len(data)).encode())]})
                await send({"type": "http.response.body", "body": data})
                return
            await send({"type": "http.response.start", "status": resp.status, "headers": [(b"content-type", media)]})
            async for data in resp.content.iter_any():
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b""})

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="base URL of the upstream, e.g. http://127.0.0.1:18000")
    args = ap.parse_args()
    uvicorn.run(make_app(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port, http="httptools",
                loop="uvloop", lifespan="off", log_level="warning", access_log=False, server_header=False,
                date_header=False, timeout_keep_alive=75, backlog=2048)


if __name__ == "__main__":
    main()

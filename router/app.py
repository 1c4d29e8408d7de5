"""The Starlette app: explicit routes, one plain function per endpoint.

Every routed endpoint reads the body, lets its front door (protocols/: FrontDoor) parse it into a
CanonicalRequest, hands it to the call pipeline (call.RoutedCall) and renders the answer back in
the same protocol. The routed endpoints are built from the registered front doors, one per path a
door serves; the discovery endpoints some clients probe (model lists, token counts, Ollama's tags,
show and version) answer in the shape of the door whose clients ask. Routing facts go to
``X-Arena-*`` response headers, never into model-visible text.
"""
from __future__ import annotations

import asyncio
import hmac
from time import perf_counter

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pytest_arena.router.call import RoutedCall
from pytest_arena.router.canonical import collect, estimate_prompt_tokens
from pytest_arena.router.core import RouterCore
from pytest_arena.router.errors import (
    ClientRequestError,
    RejectedError,
    RequestTooLargeError,
    RouterError,
    TooManyInFlightError,
    UnknownRunError,
)
from pytest_arena.router.jsonfast import dumps, loads
from pytest_arena.router.protocols import (
    FrontDoor,
    StreamRenderer,
    anthropic_messages,
    front_doors,
    ollama_api,
    openai_chat,
)
from pytest_arena.router.run_state import RunState
from pytest_arena.router.runs import Runs

JSON = "application/json"
_BAD_TOKEN = ("pytest-arena: this run's router token is missing or wrong; send the token the harness "
              "gave the run (RunEndpoints.api_key) as 'Authorization: Bearer <token>' or 'x-api-key: <token>'")


class DisconnectWatch:
    """Cancels the request's task when the client disconnects while the router waits on the
    upstream. A killed agent then does not leave a local model generating for nobody while
    holding its backend's only slot; the call is recorded as ``client_error``."""

    __slots__ = ("task", "watcher", "done", "disconnected")

    def __init__(self, receive: Receive):
        task = asyncio.current_task()
        assert task is not None  # made by a request handler, inside the request's task
        self.task = task
        self.done = False
        self.disconnected = False
        self.watcher = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        # The body is already read, so the next message is the disconnect (uvicorn also sends
        # one once the response is complete: ``done`` tells the two apart).
        message = await receive()
        if message["type"] == "http.disconnect" and not self.done:
            self.disconnected = True
            self.task.cancel()

    def stop(self) -> None:
        self.done = True
        self.watcher.cancel()

    def absorb(self) -> None:
        """After catching the CancelledError this watch caused: the task is not cancelled any more."""
        self.task.uncancel()


class EventStreamResponse(Response):
    """Streams a call's events, each group the upstream sent together rendered and written in one
    ``send`` (one write and one chunk on the wire, not one per event); the group that finishes the
    answer goes out with the end of the body once the call is recorded. Whatever happens (client
    gone, error), closes the call so its ledger record is written. Starlette's StreamingResponse
    leaves the iterator unclosed when the client disconnects and runs a disconnect-listener task
    group per response, which costs more."""

    def __init__(self, call: RoutedCall, renderer: StreamRenderer, watch: DisconnectWatch | None,
                 media_type: str, headers: dict[str, str] | None):
        self.call = call
        self.renderer = renderer
        self.watch = watch
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)
        self.raw_headers.append((b"cache-control", b"no-cache"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        render = self.renderer
        batches = self.call.batches()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            tail = b""
            try:
                async for batch in batches:
                    body = render.feed(batch)
                    if render.finished:  # nothing follows but the call's end: one write with the close
                        tail += body
                    elif body:
                        await send({"type": "http.response.body", "body": body, "more_body": True})
            except RouterError as err:
                tail += render.error(err)
            if self.watch is not None:
                self.watch.stop()
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except OSError:
            pass  # the client went away; the call records it below
        except asyncio.CancelledError:
            if self.watch is None or not self.watch.disconnected:
                raise
            self.watch.absorb()
        finally:
            if self.watch is not None:
                self.watch.stop()
            await batches.aclose()
            await self.call.aclose()


def _runs(request: Request) -> Runs:
    runs: Runs = request.app.state.runs
    return runs


def _error(door: FrontDoor, status: int, error_type: str, message: str,
           headers: dict[str, str] | None = None) -> Response:
    return Response(door.error_body(error_type, message), status_code=status, media_type=JSON, headers=headers)


def presents_token(headers: list[tuple[bytes, bytes]], token: bytes) -> bool:
    """Whether a request carries ``token`` as ``Authorization: Bearer`` (or a bare Authorization
    value) or as ``x-api-key``. Compared in constant time: timing tells a caller nothing of it."""
    found = False
    for name, value in headers:
        if name == b"authorization":
            if value[:7].lower() == b"bearer ":
                value = value[7:]
        elif name != b"x-api-key":
            continue
        found |= hmac.compare_digest(value.strip(), token)
    return found


def _admitted(request: Request, door: FrontDoor) -> RunState | Response:
    return _admit(_runs(request), request.scope, door)


def _admit(runs: Runs, scope: Scope, door: FrontDoor) -> RunState | Response:
    """The request's run, or the answer refusing it: 404 for an unknown run id, 401 without the
    run's token (counted per router, recorded in no run's ledger)."""
    try:
        run = runs.run(scope.get("path_params", {}).get("run_id"))
    except UnknownRunError as err:
        return _error(door, 404, err.error_type, err.message)
    if run.token is not None and not presents_token(scope["headers"], run.token):
        runs.core.unauthorized_calls += 1
        return _error(door, 401, "authentication_error", _BAD_TOKEN)
    return run


# After refusing an over-cap body, the rest of it is still read (and dropped, a chunk at a time)
# up to this much, so that the client, which writes its whole body before it reads the answer,
# gets the 413 instead of a reset connection; past it the connection is simply closed.
_DRAIN_LIMIT_BYTES = 1 << 30


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(size: int, cap: int) -> RequestTooLargeError:
    return RequestTooLargeError(
        f"pytest-arena: request body of {size:,} bytes or more is over the router's cap of {cap:,} bytes "
        f"({cap / 2**20:g} MiB, RouterSettings.max_body_bytes); send less context")


async def _drain(receive: Receive, message: Message, seen: int) -> None:
    while message.get("more_body", False) and seen < _DRAIN_LIMIT_BYTES:
        message = await receive()
        seen += len(message.get("body", b""))


async def _read_body(receive: Receive, scope: Scope | None = None, cap: int | None = None) -> bytes | bytearray:
    """The request body, in one buffer that grows in place (linear: the old ``body += chunk``
    copied everything read so far on every chunk, 29.6 s for a 96 MB body). Over ``cap`` bytes,
    raises RequestTooLargeError having kept nothing: a declared Content-Length over it is refused
    before any of the body is kept, a chunked body as soon as it crosses it."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # the usual case: the whole body in one message
        if cap is not None and len(body) > cap:
            raise _too_large(len(body), cap)
        return body
    if cap is not None:
        declared = _content_length(scope) if scope is not None else None
        if declared is not None and declared > cap:
            await _drain(receive, message, len(body))
            raise _too_large(declared, cap)
    buffer = bytearray(body)
    while message.get("more_body", False):
        message = await receive()
        buffer += message.get("body", b"")
        if cap is not None and len(buffer) > cap:
            size = len(buffer)
            del buffer  # nothing of it is kept while the rest is drained
            await _drain(receive, message, size)
            raise _too_large(size, cap)
    return buffer


async def _route_call(scope: Scope, receive: Receive, door: FrontDoor) -> Response:
    """One routed call, on the raw ASGI scope: a Starlette Request would only add work here."""
    arrived = perf_counter()
    runs: Runs = scope["app"].state.runs
    core: RouterCore = runs.core
    run = _admit(runs, scope, door)
    if isinstance(run, Response):
        return run
    settings = core.settings
    limit = settings.max_inflight_per_run
    if limit is not None and run.inflight + run.admitting >= limit:
        # Refused before its body is read: a refused call holds nothing. 429 (not a queue), so
        # an agent firing calls without bound is told to back off, which its SDK does.
        err = TooManyInFlightError(
            f"pytest-arena: {run.inflight + run.admitting} calls of this run are already in flight, the "
            f"router's cap (RouterSettings.max_inflight_per_run={limit}); retry when one has finished")
        core.record_rejected(run, door.name, err.message, arrived, err.status)
        return _error(door, err.http_status, err.error_type, err.message, {"Retry-After": "1"})
    run.admitting += 1
    try:
        body = loads(await _read_body(receive, scope, settings.max_body_bytes))
        if not isinstance(body, dict):
            raise ClientRequestError("the request body must be a JSON object")
        req = door.parse(body)
        del body
        if settings.max_messages is not None and len(req.messages) > settings.max_messages:
            raise RejectedError(
                f"pytest-arena: the request has {len(req.messages):,} messages, over the router's cap of "
                f"{settings.max_messages:,} (RouterSettings.max_messages)")
    except RejectedError as err:
        core.record_rejected(run, door.name, err.message, arrived, err.status)
        return _error(door, err.http_status, err.error_type, err.message)
    except (ValueError, ClientRequestError) as exc:
        message = f"pytest-arena: invalid {door.name} request: {getattr(exc, 'message', None) or exc}"
        core.record_rejected(run, door.name, message, arrived)
        return _error(door, 400, "invalid_request_error", message)
    finally:
        run.admitting -= 1
    call = RoutedCall(core, run, req, arrived)
    watch: DisconnectWatch | None = None

    def watch_local_call(call: RoutedCall) -> None:
        # Only local calls: they are long and hold a scarce slot, while a watch costs ~30% of a
        # cloud call's router CPU; an abandoned cloud call just runs to its (recorded) end.
        nonlocal watch
        if call.side == "local":
            watch = DisconnectWatch(receive)

    call.on_decided = watch_local_call
    streaming = None
    try:
        await call.start()
        headers = call.headers() if core.settings.routing_headers else None
        if req.stream:  # the response takes over the call and the watch
            streaming = EventStreamResponse(call, door.stream_renderer(req), watch, door.stream_media_type, headers)
            return streaming
        resp = await collect(call.events())
    except RouterError as err:
        return _error(door, err.http_status, err.error_type, err.message,
                      call.headers() if core.settings.routing_headers else None)
    except asyncio.CancelledError:
        if watch is None or not watch.disconnected:
            raise
        watch.absorb()
        return Response(b"", status_code=499)  # nobody is listening any more
    finally:
        if watch is not None and streaming is None:
            watch.stop()
    return Response(door.render(resp, req), media_type=JSON, headers=headers)


# ---------------------------------------------------------------------- routed endpoints
class RoutedEndpoint:
    """A front door's routed endpoint as a plain ASGI app. As a function, Starlette would wrap it
    in its exception-handling layer, which adds a closure to every ``send`` of a stream; the router
    raises nothing that layer would turn into a response (errors are rendered by ``_route_call``)."""

    __slots__ = ("door",)

    def __init__(self, door: FrontDoor):
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await _route_call(scope, receive, self.door)
        await response(scope, receive, send)


# ---------------------------------------------------------------------- discovery endpoints
# The doors whose clients probe the endpoints below: each answers (and refuses) in its door's shape.
_OPENAI = openai_chat.FRONT_DOOR
_ANTHROPIC = anthropic_messages.FRONT_DOOR
_OLLAMA = ollama_api.FRONT_DOOR


async def count_tokens(request: Request) -> Response:
    refused = _admitted(request, _ANTHROPIC)
    if isinstance(refused, Response):
        return refused
    try:
        body = loads(await _read_body(request.receive, request.scope, _runs(request).core.settings.max_body_bytes))
        req = _ANTHROPIC.parse(body if isinstance(body, dict) else {})
    except RejectedError as err:
        return _error(_ANTHROPIC, err.http_status, err.error_type, err.message)
    except (ValueError, ClientRequestError) as exc:
        return _error(_ANTHROPIC, 400, "invalid_request_error", str(getattr(exc, "message", exc)))
    return Response(dumps({"input_tokens": estimate_prompt_tokens(req)}), media_type=JSON)


async def models(request: Request) -> Response:
    run = _admitted(request, _OPENAI)
    if isinstance(run, Response):
        return run
    return Response(dumps({"object": "list", "data": [
        {"id": run.endpoints.model, "object": "model", "created": 0, "owned_by": "pytest-arena"}]}), media_type=JSON)


async def ollama_tags(request: Request) -> Response:
    run = _admitted(request, _OLLAMA)
    if isinstance(run, Response):
        return run
    return Response(ollama_api.tags_body(run.endpoints.model), media_type=JSON)


async def ollama_show(request: Request) -> Response:
    run = _admitted(request, _OLLAMA)
    if isinstance(run, Response):
        return run
    return Response(ollama_api.show_body(run.spec.guards.num_ctx), media_type=JSON)


async def ollama_version(request: Request) -> Response:
    # Answered for unknown run ids too (as it always was); a registered run's token is still checked.
    runs = _runs(request)
    run_id = request.path_params.get("run_id") or runs.core.settings.unscoped_run_id
    if run_id in runs:
        refused = _admitted(request, _OLLAMA)
        if isinstance(refused, Response):
            return refused
    return Response(ollama_api.version_body(), media_type=JSON)


async def run_root(request: Request) -> Response:
    """claude-code sends ``HEAD /`` to its base URL before the first call (without a key, and
    ignoring the answer: a 401 costs it nothing)."""
    refused = _admitted(request, _OPENAI)
    if isinstance(refused, Response):
        return refused
    return Response(b"pytest-arena router\n" if request.method == "GET" else b"", media_type="text/plain")


async def root(request: Request) -> Response:
    return Response(b"pytest-arena router\n" if request.method == "GET" else b"", media_type="text/plain")


async def healthz(request: Request) -> Response:
    """Answers at once: no upstream probes (the original's health check took up to 6 s)."""
    return Response(dumps({"ok": True, "runs": len(_runs(request))}), media_type=JSON)


async def not_found(request: Request) -> Response:
    return _error(_OPENAI, 404, "not_found_error",
                  f"pytest-arena: no endpoint for {request.method} {request.url.path}")


def _run_routes(prefix: str, routed: dict[str, RoutedEndpoint]) -> list[Route]:
    return [Route(f"{prefix}/{path}", endpoint, methods=["POST"]) for path, endpoint in routed.items()] + [
        Route(prefix + "/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route(prefix + "/v1/models", models, methods=["GET"]),
        Route(prefix + "/api/tags", ollama_tags, methods=["GET"]),
        Route(prefix + "/api/show", ollama_show, methods=["POST"]),
        Route(prefix + "/api/version", ollama_version, methods=["GET"]),
    ]


def build_app(runs: Runs) -> ASGIApp:
    """The router's ASGI app over ``runs``, serving every front door registered by now."""
    # The agent calls' endpoints, one per path a front door serves. Under /run/<run_id>/ they are
    # found by one split and one dict lookup instead of Starlette's route by route regex matching:
    # these are nearly all the router's traffic.
    hot = {path: RoutedEndpoint(door) for door in front_doors() for path in door.paths}
    routes = _run_routes("/run/{run_id}", hot) + [
        Route("/run/{run_id}", run_root, methods=["GET", "HEAD"]),
        Route("/run/{run_id}/", run_root, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if runs.core.settings.unscoped_run_id:  # python -m pytest_arena.router: one run, also without the prefix
        routes += _run_routes("", hot)
    routes += [
        Route("/", root, methods=["GET", "HEAD"]),
        Route("/{path:path}", not_found, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    ]
    app = Starlette(routes=routes)
    app.state.runs = runs
    router = app.router

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        # Straight to the routes, skipping Starlette's error middleware: it wraps every send in two
        # more layers (~5% of the router's CPU per call) and is not needed here. Every path and
        # method has a route (the catch-all answers 404), and uvicorn answers 500 on a crash.
        scope["app"] = app
        if scope["type"] == "http" and scope["method"] == "POST":
            _, prefix, run_id, rest = (scope["path"].split("/", 3) + ["", "", ""])[:4]
            endpoint = hot.get(rest) if prefix == "run" and run_id else None
            if endpoint is not None:
                scope["path_params"] = {"run_id": run_id}
                return await endpoint(scope, receive, send)
        await router(scope, receive, send)

    return serve

"""A small fake Ollama server speaking Ollama's real HTTP protocol (Ollama itself cannot be
installed here). Endpoints: GET /api/version, GET /api/tags, POST /api/show, POST /api/chat
(NDJSON stream by default, one JSON object with "stream": false; text or tool_calls),
POST /api/embed and the older POST /api/embeddings. Unknown models get Ollama's 404.

Replies are deterministic so tests can assert them:
- chat with tools, when the last message is the user's: a call to the first tool, every required
  string argument set to the user's text;
- chat otherwise: "echo: <last message>", streamed one word per chunk; eval_count = chunks,
  prompt_eval_count = words in all messages;
- embeddings: an 8-dimensional unit vector derived from a hash of the text;
- with ``load_s`` (FAKE_OLLAMA_LOAD_S), like a host that holds one model at a time: a chat for a
  model other than the one last used waits ``load_s`` first (one load at a time) and counts in
  ``app.state.loads``;
- a model whose name starts with "runaway" ignores num_predict, as some servers do: streamed, one
  token ("word ") a millisecond until the client goes away; with "stream": false, RUNAWAY_TOKENS
  tokens at once (done_reason "stop").

Use in-process (``with start_fake_ollama(["qwen3:8b"]) as fake: fake.base_url``) or as a process
(``python fake_ollama.py serve``: address from OLLAMA_HOST like the real binary, models from
FAKE_OLLAMA_MODELS, comma-separated; version from FAKE_OLLAMA_VERSION).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

DEFAULT_VERSION = "0.13.4"
EMBED_DIM = 8
RUNAWAY_TOKENS = 1500


def _with_tag(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def _embedding(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [b - 127.5 for b in digest[:EMBED_DIM]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def _text_of(message: dict) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def create_app(models: Iterable[str], version: str = DEFAULT_VERSION, load_s: float = 0.0) -> Starlette:
    pulled = [_with_tag(m) for m in models]
    loaded: list[str] = []  # the model in memory, as a one-slot list
    load_lock = asyncio.Lock()
    requests: list[tuple[str, object]] = []  # (path, body) in arrival order, for assertions

    def known(name: object) -> bool:
        return isinstance(name, str) and _with_tag(name) in pulled

    def not_found(name: object) -> JSONResponse:
        return JSONResponse({"error": f"model '{name}' not found"}, status_code=404)

    async def body_of(request: Request) -> dict:
        body = await request.json()
        requests.append((request.url.path, body))
        return body

    async def api_version(request: Request) -> JSONResponse:
        requests.append((request.url.path, None))
        return JSONResponse({"version": version})

    async def api_tags(request: Request) -> JSONResponse:
        requests.append((request.url.path, None))
        return JSONResponse({"models": [
            {"name": name, "model": name, "modified_at": "2026-11-01T00:00:00Z", "size": 4_000_000_000,
             "digest": hashlib.sha256(name.encode()).hexdigest(),
             "details": {"parent_model": "", "format": "gguf", "family": "fake", "families": ["fake"],
                         "parameter_size": "8B", "quantization_level": "Q4_K_M"}}
            for name in pulled]})

    async def api_show(request: Request) -> JSONResponse:
        body = await body_of(request)
        name = body.get("model") or body.get("name")
        if not known(name):
            return not_found(name)
        return JSONResponse({
            "modelfile": f"FROM {name}\n", "parameters": "", "template": "{{ .Prompt }}", "license": "",
            "details": {"parent_model": "", "format": "gguf", "family": "fake", "families": ["fake"],
                        "parameter_size": "8B", "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "fake", "fake.context_length": 32768},
            "capabilities": ["completion", "tools"], "modified_at": "2026-11-01T00:00:00Z"})

    async def api_chat(request: Request):
        body = await body_of(request)
        model = body.get("model")
        if not known(model):
            return not_found(model)
        if load_s:
            async with load_lock:
                if loaded != [model]:
                    await asyncio.sleep(load_s)
                    loaded[:] = [model]
                    app.state.loads += 1
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        prompt_words = sum(len(_text_of(m).split()) for m in messages)
        tools = body.get("tools") or []
        final = {"model": model, "created_at": _now(), "done": True, "done_reason": "stop",
                 "total_duration": 1_000_000, "load_duration": 1000, "prompt_eval_count": prompt_words,
                 "prompt_eval_duration": 1000}
        if tools and last.get("role") == "user":
            fn = tools[0].get("function", tools[0])
            schema = fn.get("parameters") or {}
            args = {k: _text_of(last) for k in schema.get("required", [])
                    if (schema.get("properties", {}).get(k) or {}).get("type") == "string"}
            message = {"role": "assistant", "content": "",
                       "tool_calls": [{"function": {"name": fn.get("name"), "arguments": args}}]}
            chunks = [message]
        else:
            words = ("echo: " + _text_of(last)).split(" ")
            chunks = [{"role": "assistant", "content": w if i == 0 else " " + w} for i, w in enumerate(words)]
            message = {"role": "assistant", "content": "".join(c["content"] for c in chunks)}
        if model.startswith("runaway"):
            return _runaway(model, final, stream=body.get("stream") is not False)
        final.update(eval_count=len(chunks), eval_duration=1000)
        if body.get("stream") is False:
            return JSONResponse({**final, "message": message})

        def lines():
            for chunk in chunks:
                yield json.dumps({"model": model, "created_at": _now(), "message": chunk, "done": False}) + "\n"
            yield json.dumps({**final, "message": {"role": "assistant", "content": ""}}) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def api_embed(request: Request) -> JSONResponse:
        body = await body_of(request)
        model = body.get("model")
        if not known(model):
            return not_found(model)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        return JSONResponse({"model": model, "embeddings": [_embedding(t) for t in texts],
                             "total_duration": 1000, "load_duration": 100,
                             "prompt_eval_count": sum(len(t.split()) for t in texts)})

    async def api_embeddings(request: Request) -> JSONResponse:
        body = await body_of(request)
        model = body.get("model")
        if not known(model):
            return not_found(model)
        return JSONResponse({"embedding": _embedding(body.get("prompt") or "")})

    app = Starlette(routes=[
        Route("/api/version", api_version, methods=["GET"]),
        Route("/api/tags", api_tags, methods=["GET"]),
        Route("/api/show", api_show, methods=["POST"]),
        Route("/api/chat", api_chat, methods=["POST"]),
        Route("/api/embed", api_embed, methods=["POST"]),
        Route("/api/embeddings", api_embeddings, methods=["POST"]),
    ])
    app.state.requests = requests
    app.state.loads = 0
    return app


def _runaway(model: str, final: dict, stream: bool):
    if not stream:
        return JSONResponse({**final, "eval_count": RUNAWAY_TOKENS, "eval_duration": 1000,
                             "message": {"role": "assistant", "content": "word " * RUNAWAY_TOKENS}})

    async def lines():
        while True:  # num_predict ignored: only the client going away stops it
            yield json.dumps({"model": model, "created_at": _now(),
                              "message": {"role": "assistant", "content": "word "}, "done": False}) + "\n"
            await asyncio.sleep(0.001)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


class FakeOllama:
    """The fake running in a background thread on 127.0.0.1 (ephemeral port unless given)."""

    def __init__(self, models: Iterable[str], version: str = DEFAULT_VERSION, port: int = 0, load_s: float = 0.0):
        self.app = create_app(models, version, load_s)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def requests(self) -> list[tuple[str, object]]:
        return self.app.state.requests

    def start(self) -> FakeOllama:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Ollama did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> FakeOllama:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_fake_ollama(models: Iterable[str] = ("qwen3:8b",), version: str = DEFAULT_VERSION,
                      port: int = 0, load_s: float = 0.0) -> FakeOllama:
    return FakeOllama(models, version, port, load_s).start()


def main(argv: list[str]) -> int:
    """``serve`` like the real binary: listen on OLLAMA_HOST (default 127.0.0.1:11434)."""
    if argv[:1] != ["serve"]:
        print("usage: fake_ollama.py serve", file=sys.stderr)
        return 2
    host, _, port = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434").rpartition(":")
    models = [m for m in os.environ.get("FAKE_OLLAMA_MODELS", "").split(",") if m]
    app = create_app(models, os.environ.get("FAKE_OLLAMA_VERSION", DEFAULT_VERSION),
                     float(os.environ.get("FAKE_OLLAMA_LOAD_S", "0")))
    print(f"fake ollama listening on {host}:{port}", flush=True)
    uvicorn.run(app, host=host or "127.0.0.1", port=int(port), log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

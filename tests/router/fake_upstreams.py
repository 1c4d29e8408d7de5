"""A fake LLM upstream speaking the real wire protocols the router's backends call:
OpenAI chat completions (JSON and SSE), Ollama /api/chat (JSON and NDJSON), Anthropic Messages
(JSON and SSE), OpenAI /v1/embeddings and Ollama /api/embed.

Behaviour is chosen by the upstream model name the router sends (BackendSpec.model):
  <anything>       tools offered and no tool result yet -> one call of the first tool, else text
  429once-*        first request 429 (Retry-After: 0), then normal
  500-*            always HTTP 500
  401-*            HTTP 401 echoing the Authorization/x-api-key header (the router must scrub it)
  ctx400-*         HTTP 400 context_length_exceeded, as OpenAI answers a prompt over the context
  404-*            HTTP 404 model_not_found, as OpenAI answers a model name it does not serve
  garbage-*        HTTP 200 with a body that is not JSON
  hang-*           streams one text piece, then never finishes
  slow-*           answers normally, after SLOW_S seconds (a classifier slower than its timeout)
  delay<ms>-*      answers normally, after <ms> milliseconds (a model busy for a known time)
  cut-*            streams two text pieces, then drops the connection
  long-*           answers with finish/done reason "length" and completion tokens = requested cap
  runaway-*        ignores max_tokens, as some local servers do: streams one token ("word ") a
                   millisecond until the client goes away; not streamed, RUNAWAY_TOKENS tokens at
                   once with finish reason "stop" (OpenAI chat, Ollama)
  runaway-usage-*  the same on OpenAI chat, three tokens a chunk, each chunk carrying the running
                   usage (as vLLM's continuous_usage_stats does)
  *-aliased        answers normally but names the model ALIAS (a name no price table has), as an
                   upstream serving a dated or vendor alias does (OpenAI and Anthropic)
  (any model)      a system prompt asking for "SIMPLE or COMPLEX" (the classifier) gets "COMPLEX"
Every request is appended to ``FakeUpstream.requests`` as (path, headers, json body).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

TEXT = "Hello from the fake upstream."
ALIAS = "vendor-alias-7"
RUNAWAY_TOKENS = 1500
SLOW_S = 3.0
USAGE = {"prompt": 11, "completion": 7, "cached": 3}
CONTEXT_MESSAGE = ("This model's maximum context length is 8192 tokens. However, your messages resulted in "
                   "9000 tokens. Please reduce the length of the messages.")


class CutConnection(Exception):
    """Raised mid-stream so uvicorn drops the connection without finishing the body."""


class FakeUpstream:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict, dict]] = []
        self._seen: dict[str, int] = {}
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self.openai_chat, methods=["POST"]),
            Route("/v1/embeddings", self.openai_embeddings, methods=["POST"]),
            Route("/api/chat", self.ollama_chat, methods=["POST"]),
            Route("/api/embed", self.ollama_embed, methods=["POST"]),
            Route("/v1/messages", self.anthropic_messages, methods=["POST"]),
        ])

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeUpstream:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="critical", lifespan="off",
                                                        timeout_graceful_shutdown=0.5))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def router_command(self, *extra: str) -> list[str]:
        """``python -m pytest_arena.router`` on a free port with both sides here (local: Ollama ``qwen:fake``,
        cloud: OpenAI ``gpt-5.5``), routing every call local, plus ``extra`` flags."""
        return [sys.executable, "-m", "pytest_arena.router", "--port", "0", "--strategy", "always-local",
                "--local", f"ollama:qwen:fake@{self.base_url}", "--cloud", f"openai:gpt-5.5@{self.base_url}/v1",
                *extra]

    @contextlib.contextmanager
    def standalone_router(self, *extra: str, stop_signal: int = signal.SIGTERM) -> Iterator[subprocess.Popen]:
        """``python -m pytest_arena.router`` (``router_command``) with its stdout piped, for the block's length.
        It is stopped with ``stop_signal`` (Ctrl-C is SIGINT) and given 10 s to close its run; a
        router that does not is killed, so no test leaves one running, failed or not."""
        proc = subprocess.Popen(self.router_command(*extra), stdout=subprocess.PIPE, text=True)
        try:
            yield proc
        finally:
            proc.send_signal(stop_signal)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError(f"python -m pytest_arena.router did not stop within 10 s "
                                     f"of signal {stop_signal}") from None
            finally:
                proc.stdout.close()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def bodies(self, model: str) -> list[dict]:
        return [body for _, _, body in self.requests if body.get("model") == model]

    # ------------------------------------------------------------------ shared policy
    async def _intake(self, request: Request) -> tuple[dict, Response | None]:
        body = json.loads(await request.body())
        self.requests.append((request.url.path, dict(request.headers), body))
        model = body.get("model", "")
        self._seen[model] = self._seen.get(model, 0) + 1
        if model.startswith("429once") and self._seen[model] == 1:
            return body, JSONResponse({"error": {"message": "slow down"}}, 429, headers={"Retry-After": "0"})
        if model.startswith("500"):
            return body, JSONResponse({"error": {"message": "upstream exploded"}}, 500)
        if model.startswith("401"):
            key = request.headers.get("authorization") or request.headers.get("x-api-key") or ""
            return body, JSONResponse({"error": {"message": f"invalid key {key}"}}, 401)
        if model.startswith("ctx400"):
            return body, JSONResponse({"error": {
                "message": CONTEXT_MESSAGE, "type": "invalid_request_error", "param": "messages",
                "code": "context_length_exceeded"}}, 400)
        if model.startswith("404"):
            return body, JSONResponse({"error": {
                "message": f"The model `{model}` does not exist or you do not have access to it.",
                "type": "invalid_request_error", "param": None, "code": "model_not_found"}}, 404)
        if model.startswith("garbage"):
            return body, Response(b"<html>this is not json{", 200, media_type="application/json")
        if model.startswith("slow"):
            await asyncio.sleep(SLOW_S)
        if model.startswith("delay") and model[5:].partition("-")[0].isdigit():
            await asyncio.sleep(int(model[5:].partition("-")[0]) / 1000)
        return body, None

    @staticmethod
    def _reply(body: dict, tools: list[str], has_result: bool) -> tuple[str, str | None, dict]:
        """(text, tool name or None, tool arguments)."""
        if "SIMPLE or COMPLEX" in json.dumps(body.get("messages") or body.get("system") or ""):
            return "COMPLEX", None, {}
        if tools and not has_result:
            return "", tools[0], {"path": "hello.txt", "content": "hi"}
        return TEXT, None, {}

    @staticmethod
    async def _hang_or_cut(model: str, pieces: int) -> None:
        if model.startswith("hang") and pieces >= 1:
            await asyncio.sleep(3600)
        if model.startswith("cut") and pieces >= 2:
            raise CutConnection()

    # ------------------------------------------------------------------ OpenAI
    async def openai_chat(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault:
            return fault
        if body["model"].startswith("runaway"):
            return _runaway_openai(body)
        tools = [t["function"]["name"] for t in body.get("tools") or ()]
        has_result = any(m.get("role") == "tool" for m in body["messages"])
        text, tool, args = self._reply(body, tools, has_result)
        model = body["model"]
        served = _served_name(model)
        cap = body.get("max_tokens") or body.get("max_completion_tokens")
        finish = "length" if model.startswith("long") else ("tool_calls" if tool else "stop")
        usage = {"prompt_tokens": USAGE["prompt"],
                 "completion_tokens": cap if model.startswith("long") else USAGE["completion"],
                 "total_tokens": 0, "prompt_tokens_details": {"cached_tokens": USAGE["cached"]}}
        call = {"id": "call_fake1", "type": "function", "function": {"name": tool, "arguments": json.dumps(args)}}
        if not body.get("stream"):
            msg = {"role": "assistant", "content": text or None}
            if tool:
                msg["tool_calls"] = [call]
            return JSONResponse({"id": "x", "object": "chat.completion", "model": served,
                                 "choices": [{"index": 0, "message": msg, "finish_reason": finish}], "usage": usage})

        async def gen():
            base = {"id": "x", "object": "chat.completion.chunk", "model": served}
            yield _sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
            if tool:
                arguments = call["function"]["arguments"]
                yield _sse({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "id": call["id"], "type": "function",
                     "function": {"name": tool, "arguments": ""}}]}}]})
                for i in range(0, len(arguments), 8):
                    yield _sse({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                        {"index": 0, "function": {"arguments": arguments[i:i + 8]}}]}}]})
            else:
                for n, i in enumerate(range(0, len(text), 6)):
                    await self._hang_or_cut(model, n)
                    yield _sse({**base, "choices": [{"index": 0, "delta": {"content": text[i:i + 6]}}]})
            yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                yield _sse({**base, "choices": [], "usage": usage})
            yield "data: [DONE]\n\n"
        return StreamingResponse(gen(), media_type="text/event-stream")

    async def openai_embeddings(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault:
            return fault
        return JSONResponse({"data": [{"index": i, "embedding": _vector(t)} for i, t in enumerate(body["input"])],
                             "model": body["model"]})

    # ------------------------------------------------------------------ Ollama
    async def ollama_chat(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault:
            return fault
        if body["model"].startswith("runaway"):
            return _runaway_ollama(body)
        tools = [t["function"]["name"] for t in body.get("tools") or ()]
        has_result = any(m.get("role") == "tool" for m in body["messages"])
        text, tool, args = self._reply(body, tools, has_result)
        model = body["model"]
        long = model.startswith("long")
        final = {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": True,
                 "done_reason": "length" if long else "stop", "prompt_eval_count": USAGE["prompt"],
                 "eval_count": (body.get("options") or {}).get("num_predict") if long else USAGE["completion"]}
        msg = {"role": "assistant", "content": text}
        if tool:
            msg["tool_calls"] = [{"function": {"name": tool, "arguments": args}}]
        if body.get("stream") is False:
            if model.startswith("hang"):
                await asyncio.sleep(3600)
            return JSONResponse({**final, "message": msg})

        async def gen():
            if tool:
                yield json.dumps({**final, "done": False, "message": msg}) + "\n"
            else:
                for n, i in enumerate(range(0, len(text), 6)):
                    await self._hang_or_cut(model, n)
                    yield json.dumps({"model": model, "message": {"role": "assistant", "content": text[i:i + 6]},
                                      "done": False}) + "\n"
            yield json.dumps({**final, "message": {"role": "assistant", "content": ""}}) + "\n"
        return StreamingResponse(gen(), media_type="application/x-ndjson")

    async def ollama_embed(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault:
            return fault
        return JSONResponse({"model": body["model"], "embeddings": [_vector(t) for t in body["input"]]})

    # ------------------------------------------------------------------ Anthropic
    async def anthropic_messages(self, request: Request) -> Response:
        body, fault = await self._intake(request)
        if fault:
            return fault
        tools = [t["name"] for t in body.get("tools") or ()]
        has_result = any(isinstance(m["content"], list) and any(b.get("type") == "tool_result" for b in m["content"])
                         for m in body["messages"])
        text, tool, args = self._reply(body, tools, has_result)
        model = body["model"]
        served = _served_name(model)
        long = model.startswith("long")
        stop = "max_tokens" if long else ("tool_use" if tool else "end_turn")
        usage = {"input_tokens": USAGE["prompt"] - USAGE["cached"], "cache_read_input_tokens": USAGE["cached"],
                 "output_tokens": body["max_tokens"] if long else USAGE["completion"]}
        block = ({"type": "tool_use", "id": "toolu_fake1", "name": tool, "input": args} if tool
                 else {"type": "text", "text": text})
        if not body.get("stream"):
            return JSONResponse({"id": "msg_x", "type": "message", "role": "assistant", "model": served,
                                 "content": [block], "stop_reason": stop, "usage": usage})

        async def gen():
            yield _event("message_start", {"message": {"id": "msg_x", "type": "message", "role": "assistant",
                                                       "model": served, "content": [],
                                                       "usage": {**usage, "output_tokens": 1}}})
            if tool:
                yield _event("content_block_start", {"index": 0, "content_block": {**block, "input": {}}})
                partial = json.dumps(args)
                for i in range(0, len(partial), 8):
                    yield _event("content_block_delta", {"index": 0, "delta": {"type": "input_json_delta",
                                                                               "partial_json": partial[i:i + 8]}})
            else:
                yield _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
                for n, i in enumerate(range(0, len(text), 6)):
                    await self._hang_or_cut(model, n)
                    yield _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta",
                                                                               "text": text[i:i + 6]}})
            yield _event("content_block_stop", {"index": 0})
            yield _event("message_delta", {"delta": {"stop_reason": stop},
                                           "usage": {"output_tokens": usage["output_tokens"]}})
            yield _event("message_stop", {})
        return StreamingResponse(gen(), media_type="text/event-stream")


def _runaway_openai(body: dict) -> Response:
    model = body["model"]
    per_chunk = 3 if model.startswith("runaway-usage") else 1
    if not body.get("stream"):
        return JSONResponse({"id": "x", "object": "chat.completion", "model": model, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "word " * RUNAWAY_TOKENS},
             "finish_reason": "stop"}],
            "usage": {"prompt_tokens": USAGE["prompt"], "completion_tokens": RUNAWAY_TOKENS,
                      "total_tokens": USAGE["prompt"] + RUNAWAY_TOKENS}})

    async def gen():
        base = {"id": "x", "object": "chat.completion.chunk", "model": model}
        sent = 0
        while True:  # never finishes: only the client going away stops it
            sent += per_chunk
            chunk = {**base, "choices": [{"index": 0, "delta": {"content": "word " * per_chunk},
                                          "finish_reason": None}]}
            if per_chunk > 1:
                chunk["usage"] = {"prompt_tokens": USAGE["prompt"], "completion_tokens": sent,
                                  "total_tokens": USAGE["prompt"] + sent}
            yield _sse(chunk)
            await asyncio.sleep(0.001)
    return StreamingResponse(gen(), media_type="text/event-stream")


def _runaway_ollama(body: dict) -> Response:
    model = body["model"]
    if body.get("stream") is False:
        return JSONResponse({"model": model, "created_at": "2026-01-01T00:00:00Z", "done": True, "done_reason": "stop",
                             "message": {"role": "assistant", "content": "word " * RUNAWAY_TOKENS},
                             "prompt_eval_count": USAGE["prompt"], "eval_count": RUNAWAY_TOKENS})

    async def gen():
        while True:  # num_predict ignored: only the client going away stops it
            yield json.dumps({"model": model, "message": {"role": "assistant", "content": "word "},
                              "done": False}) + "\n"
            await asyncio.sleep(0.001)
    return StreamingResponse(gen(), media_type="application/x-ndjson")


def _served_name(model: str) -> str:
    return ALIAS if model.endswith("-aliased") else model


def _sse(obj: dict) -> str:
    return f"data: {json.dumps(obj)}\n\n"


def _event(name: str, obj: dict) -> str:
    return f"event: {name}\ndata: {json.dumps({**obj, 'type': name})}\n\n"


def _vector(text: str) -> list[float]:
    """A deterministic 8-dimensional embedding: letter-class counts."""
    t = text.lower()
    groups = ["aeiou", "bcdfg", "hjklm", "npqrs", "tvwxz", "0123456789", " ", "y.,!?"]
    return [float(sum(t.count(c) for c in g)) + 0.01 for g in groups]

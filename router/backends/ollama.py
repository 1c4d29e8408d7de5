"""Ollama's native ``/api/chat`` (NDJSON), with the local guards applied as Ollama options.

``num_ctx`` is always explicit: Ollama's small default context silently truncates agent prompts.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pytest_arena.router.backends.base import BackendOptions, CallContext
from pytest_arena.router.backends.http import HttpBackend
from pytest_arena.router.canonical import new_id
from pytest_arena.router.contracts import (
    BackendSpec,
    CanonicalRequest,
    Event,
    Finish,
    FinishReason,
    Message,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from pytest_arena.router.jsonfast import dumps, loads

DEFAULT_BASE = "http://127.0.0.1:11434"


def _arguments_object(arguments: str) -> Any:
    try:
        return loads(arguments) if arguments else {}
    except ValueError:
        return arguments  # leave an unparseable string as it is, as Ollama itself would see it


def messages_json(messages: list[Message]) -> list[dict[str, Any]]:
    out = []
    # OpenAI tool results carry only the id
    names: dict[str | None, str] = {c.id: c.name for m in messages for c in m.tool_calls}
    for m in messages:
        msg: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            msg["tool_calls"] = [{"function": {"name": c.name, "arguments": _arguments_object(c.arguments)}}
                                 for c in m.tool_calls]
        if m.role == "tool" and (m.name or m.tool_call_id in names):
            msg["tool_name"] = m.name or names[m.tool_call_id]
        out.append(msg)
    return out


class OllamaBackend(HttpBackend):
    local = True

    def __init__(self, spec: BackendSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self.base = (spec.base_url or DEFAULT_BASE).rstrip("/").removesuffix("/v1")
        self.headers = {"Content-Type": "application/json"}

    def build_body(self, req: CanonicalRequest, call: CallContext, model: str) -> bytes:
        options: dict[str, Any] = {}
        guards = call.guards
        if guards is not None:
            if guards.num_ctx is not None:
                options["num_ctx"] = guards.num_ctx
            if guards.repeat_penalty is not None:
                options["repeat_penalty"] = guards.repeat_penalty
        if req.max_tokens is not None:  # already min(caller, cap) for local calls
            options["num_predict"] = req.max_tokens
        for name, value in (("temperature", req.temperature), ("top_p", req.top_p), ("seed", req.seed),
                            ("stop", req.stop)):
            if value is not None:
                options[name] = value
        body: dict[str, Any] = {"model": model, "messages": messages_json(req.messages), "stream": req.stream,
                                "options": options}
        if guards is not None and guards.think is not None:
            body["think"] = guards.think
        if req.tools:
            body["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                               "parameters": t.parameters or {"type": "object"}}}
                             for t in req.tools]
        if req.extra.get("format"):
            body["format"] = req.extra["format"]
        return dumps(body)

    async def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        resp, model = await self.post_with_fallback(
            self.base + "/api/chat", lambda m: self.build_body(req, call, m), self.headers,
            self.read_timeout(call.side == "cloud"))
        tool_index = 0
        final: dict[str, Any] | None = None
        async with resp:
            source = self.lines(resp) if req.stream else _single(await self.read_body(resp))
            async for line in source:
                line = line.strip()
                if not line:
                    continue
                try:
                    chunk = loads(line)
                except ValueError:
                    raise self.protocol_error(f"an unparseable line: {line[:200]!r}") from None
                if "error" in chunk:
                    raise self.protocol_error(f"an error: {chunk['error']}")
                message = chunk.get("message") or {}
                if message.get("content"):
                    yield TextDelta(message["content"])
                for tc in message.get("tool_calls") or ():
                    fn = tc.get("function") or {}
                    args = fn.get("arguments")
                    yield ToolCallDelta(index=tool_index, id=tc.get("id") or new_id("call_"), name=fn.get("name", ""),
                                        arguments=args if isinstance(args, str) else dumps(args or {}).decode())
                    tool_index += 1
                if chunk.get("done"):
                    final = chunk
                    if req.stream:
                        await self.finish_body(resp)
                    break
        if final is None:
            raise self.protocol_error("a stream that ended before done:true")
        yield Usage(prompt=final.get("prompt_eval_count") or 0, completion=final.get("eval_count") or 0)
        reason: FinishReason
        if final.get("done_reason") == "length":
            reason = "length"
        else:
            reason = "tool_calls" if tool_index else "stop"
        yield Finish(reason, final.get("model") or model)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        resp = await self.post(self.base + "/api/embed", dumps({"model": self.spec.model, "input": texts}),
                               self.headers, self.read_timeout(False))
        async with resp:
            raw = await self.read_body(resp)
        try:
            embeddings: list[list[float]] = loads(raw)["embeddings"]
            return embeddings
        except (ValueError, KeyError, TypeError):
            raise self.protocol_error(f"an unparseable embeddings reply: {raw[:200]!r}") from None


async def _single(raw: bytes) -> AsyncIterator[bytes]:
    yield raw

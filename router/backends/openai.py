"""Any OpenAI-compatible ``/v1/chat/completions`` server: cloud APIs, vLLM, llama.cpp, LM Studio,
and the embedded llama.cpp server (kind ``embedded``)."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from pytest_arena.router.backends.base import (
    Backend,
    BackendOptions,
    CallContext,
    UnstartedBackend,
)
from pytest_arena.router.backends.http import HttpBackend, api_base
from pytest_arena.router.contracts import (
    BackendSpec,
    CanonicalRequest,
    Event,
    Finish,
    FinishReason,
    LocalGuards,
    Message,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from pytest_arena.router.jsonfast import dumps, loads

DEFAULT_BASE = "https://api.openai.com/v1"
# OpenAI reasoning models reject max_tokens and non-default sampling parameters.
_REASONING_MODEL = re.compile(r"^(gpt-5|o1|o3|o4)", re.IGNORECASE)
_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
                                    "function_call": "tool_calls"}


def messages_json(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.content}
            if m.tool_calls:
                msg["content"] = m.content or None
                msg["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls]
            out.append(msg)
        elif m.role == "tool":
            if m.tool_call_id:
                out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
            else:  # a result we could not pair with a call (OpenAI rejects that): its text, as the user's
                out.append({"role": "user", "content": m.content})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def usage_of(raw: dict[str, Any]) -> Usage:
    return Usage(prompt=raw.get("prompt_tokens") or 0, completion=raw.get("completion_tokens") or 0,
                 cached=(raw.get("prompt_tokens_details") or {}).get("cached_tokens") or 0,
                 reasoning=(raw.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)


def _arguments(raw: Any) -> str:
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else dumps(raw).decode()


class OpenAIBackend(HttpBackend):
    api_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    # Sends LocalGuards.repeat_penalty: llama.cpp's server extension, not in OpenAI's API.
    repeat_penalty_param = False

    def __init__(self, spec: BackendSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self.base = api_base(spec.base_url, DEFAULT_BASE, "/v1")
        self.headers = {"Content-Type": "application/json"}

    def build_body(self, req: CanonicalRequest, model: str, guards: LocalGuards | None = None) -> bytes:
        body: dict[str, Any] = dict(req.extra.get("openai_params") or ()) if req.protocol == "openai-chat" else {}
        body["model"] = model
        body["messages"] = messages_json(req.messages)
        body["stream"] = req.stream
        if req.stream:
            body["stream_options"] = {"include_usage": True}
        if req.tools:
            body["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                               "parameters": t.parameters or {"type": "object"}}}
                             for t in req.tools]
            if req.tool_choice is not None:
                body["tool_choice"] = req.tool_choice
        reasoning = bool(_REASONING_MODEL.match(model))
        if req.max_tokens is not None:
            body["max_completion_tokens" if reasoning else "max_tokens"] = req.max_tokens
        for name, value in (("temperature", req.temperature), ("top_p", req.top_p)):
            if value is not None and not (reasoning and value != 1):
                body[name] = value
        if req.seed is not None:
            body["seed"] = req.seed
        if req.stop:
            body["stop"] = req.stop
        if guards is not None and guards.repeat_penalty is not None and self.repeat_penalty_param:
            body["repeat_penalty"] = guards.repeat_penalty
        return dumps(body)

    async def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        async for batch in self.batches(req, call):
            for ev in batch:
                yield ev

    async def batches(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[list[Event]]:
        resp, model = await self.post_with_fallback(
            self.base + "/chat/completions", lambda m: self.build_body(req, m, call.guards), self.headers,
            self.read_timeout(call.side == "cloud"))
        async with resp:
            if not req.stream:
                yield self._events_of_json(await self.read_body(resp), model)
                return
            usage = Usage()
            finish: str | None = None
            saw_tools = done = False
            events: list[Event] = []
            async for lines in self.line_batches(resp):
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        break
                    try:
                        chunk = loads(data)
                    except ValueError:
                        raise self.protocol_error(f"an unparseable stream chunk: {data[:200]!r}") from None
                    if "error" in chunk:
                        raise self.protocol_error(f"an error mid-stream: {chunk['error']}")
                    model = chunk.get("model") or model
                    if chunk.get("usage"):
                        usage = usage_of(chunk["usage"])
                        # running counts (vLLM continuous_usage_stats): the output cap reads them
                        if chunk.get("choices"):
                            events.append(usage)
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") or {}
                        if delta.get("content"):
                            events.append(TextDelta(delta["content"]))
                        for tc in delta.get("tool_calls") or ():
                            saw_tools = True
                            fn = tc.get("function") or {}
                            events.append(ToolCallDelta(index=tc.get("index", 0), id=tc.get("id"), name=fn.get("name"),
                                                        arguments=_arguments(fn.get("arguments"))))
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
                if done:
                    await self.finish_body(resp)
                    break
                if events:
                    yield events
                    events = []
            if not done and finish is None:
                raise self.protocol_error("a stream that ended before its finish_reason")
        # The last read's events go out with the usage and the finish: one write ends the answer.
        reason = _FINISH.get(finish or "stop", "stop")
        events += (usage, Finish("tool_calls" if saw_tools and reason == "stop" else reason, model))
        yield events

    def _events_of_json(self, raw: bytes, model: str) -> list[Event]:
        try:
            body = loads(raw)
            choice = body["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            raise self.protocol_error(f"an unparseable reply: {raw[:200]!r}") from None
        events: list[Event] = []
        if message.get("content"):
            events.append(TextDelta(message["content"]))
        calls = message.get("tool_calls") or ()
        for i, tc in enumerate(calls):
            fn = tc.get("function") or {}
            events.append(ToolCallDelta(index=i, id=tc.get("id"), name=fn.get("name", ""),
                                        arguments=_arguments(fn.get("arguments"))))
        events.append(usage_of(body.get("usage") or {}))
        reason = _FINISH.get(choice.get("finish_reason") or "stop", "stop")
        events.append(Finish("tool_calls" if calls and reason == "stop" else reason, body.get("model") or model))
        return events

    async def embed(self, texts: list[str]) -> list[list[float]]:
        resp = await self.post(self.base + "/embeddings", dumps({"model": self.spec.model, "input": texts}),
                               self.headers, self.read_timeout(True))
        async with resp:
            raw = await self.read_body(resp)
        try:
            data = sorted(loads(raw)["data"], key=lambda d: d.get("index", 0))
            return [d["embedding"] for d in data]
        except (ValueError, KeyError, TypeError):
            raise self.protocol_error(f"an unparseable embeddings reply: {raw[:200]!r}") from None


class EmbeddedBackend(OpenAIBackend):
    """The embedded llama.cpp server the plugin starts on this machine (its base_url is filled in
    when it starts); without one, the run's strategy cannot route here: an UnstartedBackend."""

    local = True
    api_key_env = None
    repeat_penalty_param = True

    @classmethod
    def create(cls, spec: BackendSpec, options: BackendOptions) -> Backend:
        if not spec.base_url:
            return UnstartedBackend(spec)
        return cls(spec, options)

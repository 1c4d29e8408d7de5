"""Anthropic Messages API, for Claude cloud models."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pytest_arena.router.backends.base import BackendOptions, CallContext
from pytest_arena.router.backends.http import HttpBackend
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

DEFAULT_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# Anthropic requires max_tokens; used when the caller sent none.
DEFAULT_MAX_TOKENS = 8192
_FINISH: dict[str, FinishReason] = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                                     "tool_use": "tool_calls", "pause_turn": "stop", "refusal": "stop"}


def _input_object(arguments: str) -> Any:
    try:
        value = loads(arguments) if arguments else {}
    except ValueError:
        return {"_raw_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def split_system(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """Canonical messages as (system text, alternating Anthropic turns with content blocks)."""
    system = [m.content for m in messages if m.role == "system" and m.content]
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "assistant":
            role, blocks = "assistant", ([{"type": "text", "text": m.content}] if m.content else [])
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": _input_object(c.arguments)}
                       for c in m.tool_calls]
        elif m.role == "tool":
            role, blocks = "user", [{"type": "tool_result", "tool_use_id": m.tool_call_id or "unknown",
                                     "content": m.content}]
        else:
            role, blocks = "user", [{"type": "text", "text": m.content or " "}]
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:  # Anthropic wants alternating turns
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return "\n\n".join(system), turns


def usage_of(raw: dict[str, Any]) -> Usage:
    cached = raw.get("cache_read_input_tokens") or 0
    prompt = (raw.get("input_tokens") or 0) + cached + (raw.get("cache_creation_input_tokens") or 0)
    return Usage(prompt=prompt, completion=raw.get("output_tokens") or 0, cached=cached)


class AnthropicBackend(HttpBackend):
    api_key_env = "ANTHROPIC_API_KEY"

    def __init__(self, spec: BackendSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self.base = (spec.base_url or DEFAULT_BASE).rstrip("/").removesuffix("/v1")
        self.headers = {"Content-Type": "application/json", "anthropic-version": API_VERSION}

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def build_body(self, req: CanonicalRequest, model: str) -> bytes:
        system, turns = split_system(req.messages)
        body: dict[str, Any] = {"model": model, "messages": turns, "stream": req.stream,
                                "max_tokens": req.max_tokens or DEFAULT_MAX_TOKENS}
        if system:
            body["system"] = system
        if req.tools:
            body["tools"] = [{"name": t.name, "description": t.description,
                              "input_schema": t.parameters or {"type": "object"}} for t in req.tools]
            choice = req.tool_choice
            if choice in ("auto", "required", "none"):
                body["tool_choice"] = {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}
            elif isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
                body["tool_choice"] = {"type": "tool", "name": choice["function"]["name"]}
        for name, value in (("temperature", req.temperature), ("top_p", req.top_p), ("stop_sequences", req.stop)):
            if value is not None:
                body[name] = value
        return dumps(body)

    async def stream(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[Event]:
        async for batch in self.batches(req, call):
            for ev in batch:
                yield ev

    async def batches(self, req: CanonicalRequest, call: CallContext) -> AsyncIterator[list[Event]]:
        resp, model = await self.post_with_fallback(
            self.base + "/v1/messages", lambda m: self.build_body(req, m), self.headers,
            self.read_timeout(call.side == "cloud"))
        async with resp:
            if not req.stream:
                yield self._events_of_json(await self.read_body(resp), model)
                return
            usage = Usage()
            stop: str | None = None
            tool_of_block: dict[int, int] = {}  # content block index -> canonical tool index
            events: list[Event] = []
            done = False
            async for lines in self.line_batches(resp):
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    try:
                        ev = loads(line[5:])
                    except ValueError:
                        raise self.protocol_error(f"an unparseable stream event: {line[:200]!r}") from None
                    kind = ev.get("type")
                    if kind == "content_block_delta":
                        delta = ev.get("delta") or {}
                        if delta.get("type") == "text_delta" and delta.get("text"):
                            events.append(TextDelta(delta["text"]))
                        elif delta.get("type") == "input_json_delta" and ev.get("index") in tool_of_block:
                            events.append(ToolCallDelta(index=tool_of_block[ev["index"]],
                                                        arguments=delta.get("partial_json", "")))
                    elif kind == "content_block_start":
                        block = ev.get("content_block") or {}
                        if block.get("type") == "tool_use":
                            tool_of_block[ev.get("index", 0)] = index = len(tool_of_block)
                            events.append(ToolCallDelta(index=index, id=block.get("id"), name=block.get("name", "")))
                        elif block.get("type") == "text" and block.get("text"):
                            events.append(TextDelta(block["text"]))
                    elif kind == "message_start":
                        message = ev.get("message") or {}
                        model = message.get("model") or model
                        usage = usage_of(message.get("usage") or {})
                    elif kind == "message_delta":
                        stop = (ev.get("delta") or {}).get("stop_reason") or stop
                        raw = ev.get("usage") or {}
                        if raw.get("output_tokens") is not None:
                            usage.completion = raw["output_tokens"]
                        if raw.get("input_tokens") is not None:
                            usage = _merge_usage(usage, raw)
                    elif kind == "message_stop":
                        done = True
                        break
                    elif kind == "error":
                        raise self.protocol_error(f"an error mid-stream: {ev.get('error')}")
                if done:
                    await self.finish_body(resp)
                    break
                if events:
                    yield events
                    events = []
            else:
                raise self.protocol_error("a stream that ended before message_stop")
        # The last read's events go out with the usage and the finish: one write ends the answer.
        events += (usage, Finish(_FINISH.get(stop or "end_turn", "stop"), model))
        yield events

    def _events_of_json(self, raw: bytes, model: str) -> list[Event]:
        try:
            body = loads(raw)
            blocks = body["content"]
        except (ValueError, KeyError, TypeError):
            raise self.protocol_error(f"an unparseable reply: {raw[:200]!r}") from None
        events: list[Event] = []
        tools = 0
        for block in blocks:
            if block.get("type") == "text" and block.get("text"):
                events.append(TextDelta(block["text"]))
            elif block.get("type") == "tool_use":
                events.append(ToolCallDelta(index=tools, id=block.get("id"), name=block.get("name", ""),
                                            arguments=dumps(block.get("input") or {}).decode()))
                tools += 1
        events.append(usage_of(body.get("usage") or {}))
        events.append(Finish(_FINISH.get(body.get("stop_reason") or "end_turn", "stop"), body.get("model") or model))
        return events


def _merge_usage(usage: Usage, raw: dict[str, Any]) -> Usage:
    """message_delta may repeat the input counts; the later figures win."""
    fresh = usage_of(raw)
    return Usage(prompt=fresh.prompt or usage.prompt, completion=usage.completion,
                 cached=fresh.cached or usage.cached, reasoning=usage.reasoning)

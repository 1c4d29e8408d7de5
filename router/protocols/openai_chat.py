"""OpenAI chat completions (``/v1/chat/completions``): JSON and SSE, tools, include_usage."""
from __future__ import annotations

import time
from typing import Any

from pytest_arena.router.canonical import flatten_content, new_id, split_model_suffix
from pytest_arena.router.contracts import (
    CanonicalRequest,
    CanonicalResponse,
    Event,
    Finish,
    Message,
    Role,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from pytest_arena.router.errors import ClientRequestError, RouterError
from pytest_arena.router.jsonfast import dumps
from pytest_arena.router.protocols.base import Door

PROTOCOL = "openai-chat"
STREAM_MEDIA_TYPE = "text/event-stream"

# Fields the canonical request carries itself; everything else is kept in extra["openai_params"]
# so an OpenAI-compatible backend can pass it through unchanged (response_format, penalties...).
_CANONICAL_FIELDS = frozenset(
    {"model", "messages", "tools", "stream", "stream_options", "max_tokens", "max_completion_tokens",
     "temperature", "top_p", "seed", "stop", "tool_choice", "functions", "function_call"}
)
_ROLES: dict[object, Role] = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
                              "tool": "tool", "function": "tool"}


def _arguments_string(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    return dumps(arguments if arguments is not None else {}).decode()


def parse_messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise ClientRequestError("'messages' must be a non-empty array")
    out: list[Message] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise ClientRequestError(f"messages[{i}] must be an object")
        role = _ROLES.get(m.get("role"))
        if role is None:
            raise ClientRequestError(f"messages[{i}].role {m.get('role')!r} is not a chat role")
        msg = Message(role=role, content=flatten_content(m.get("content")))
        if role == "assistant":
            for j, tc in enumerate(m.get("tool_calls") or ()):
                fn = tc.get("function") or {}
                msg.tool_calls.append(ToolCall(id=tc.get("id") or f"call_{i}_{j}", name=fn.get("name", ""),
                                               arguments=_arguments_string(fn.get("arguments"))))
            legacy = m.get("function_call")
            if isinstance(legacy, dict) and not msg.tool_calls:
                msg.tool_calls.append(ToolCall(id=f"call_{i}_0", name=legacy.get("name", ""),
                                               arguments=_arguments_string(legacy.get("arguments"))))
        elif role == "tool":
            msg.tool_call_id = m.get("tool_call_id")
            msg.name = m.get("name")
        out.append(msg)
    return out


def parse_tools(raw: Any) -> list[ToolSpec]:
    tools = []
    for t in raw or ():
        fn = t.get("function") if isinstance(t, dict) and "function" in t else t
        if isinstance(fn, dict) and fn.get("name"):
            tools.append(ToolSpec(name=fn["name"], description=fn.get("description") or "",
                                  parameters=fn.get("parameters") or {}))
    return tools


def parse(body: dict[str, Any]) -> CanonicalRequest:
    model, force = split_model_suffix(body.get("model"))
    stop = body.get("stop")
    tools = parse_tools(body.get("tools") or body.get("functions"))
    return CanonicalRequest(
        protocol=PROTOCOL,
        model=model,
        messages=parse_messages(body.get("messages")),
        tools=tools,
        force=force,
        stream=bool(body.get("stream")),
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        seed=body.get("seed"),
        stop=[stop] if isinstance(stop, str) else stop,
        tool_choice=body.get("tool_choice"),
        include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        extra={"openai_params": {k: v for k, v in body.items() if k not in _CANONICAL_FIELDS}},
    )


def usage_json(u: Usage) -> dict[str, Any]:
    return {"prompt_tokens": u.prompt, "completion_tokens": u.completion,
            "total_tokens": u.prompt + u.completion,
            "prompt_tokens_details": {"cached_tokens": u.cached},
            "completion_tokens_details": {"reasoning_tokens": u.reasoning}}


def render(resp: CanonicalResponse, req: CanonicalRequest) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": resp.text}
    if resp.tool_calls:
        message["content"] = resp.text or None
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in resp.tool_calls
        ]
    return dumps({
        "id": new_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
        "model": req.model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(resp.finish_reason)}],
        "usage": usage_json(resp.usage),
    })


def _finish(reason: str) -> str:
    return "stop" if reason == "error" else reason


class StreamRenderer:
    """Renders a call's events as SSE, a group of events at a time (one write each). Chunks share
    one prefix; only the choices part is serialised per event."""

    __slots__ = ("req", "head", "usage", "started", "finished")

    def __init__(self, req: CanonicalRequest):
        self.req = req
        self.head = dumps({"id": new_id("chatcmpl-"), "object": "chat.completion.chunk",
                           "created": int(time.time()), "model": req.model})[:-1]
        self.usage: Usage | None = None
        self.started = False
        self.finished = False  # the Finish was rendered, with everything that ends the stream

    def feed(self, events: list[Event]) -> bytes:
        head = self.head
        out: list[bytes] = []
        if not self.started:
            self.started = True
            out.append(b"data: " + head + b',"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
                       b'"finish_reason":null}]}\n\n')
        for ev in events:
            if isinstance(ev, TextDelta):
                if ev.text:
                    out.append(b"data: " + head + b',"choices":[{"index":0,"delta":{"content":' + dumps(ev.text)
                               + b'},"finish_reason":null}]}\n\n')
            elif isinstance(ev, ToolCallDelta):
                call: dict[str, Any] = {"index": ev.index}
                if ev.id is not None or ev.name is not None:
                    call["id"] = ev.id or new_id("call_")
                    call["type"] = "function"
                    call["function"] = {"name": ev.name or "", "arguments": ev.arguments}
                else:
                    call["function"] = {"arguments": ev.arguments}
                out.append(b"data: " + head + b',"choices":[{"index":0,"delta":{"tool_calls":[' + dumps(call)
                           + b']},"finish_reason":null}]}\n\n')
            elif isinstance(ev, Usage):
                self.usage = ev
            elif isinstance(ev, Finish):
                out.append(b"data: " + head + b',"choices":[{"index":0,"delta":{},"finish_reason":"'
                           + _finish(ev.reason).encode() + b'"}]}\n\n')
                if self.req.include_usage and self.usage is not None:
                    out.append(b"data: " + head + b',"choices":[],"usage":' + dumps(usage_json(self.usage)) + b"}\n\n")
                out.append(b"data: [DONE]\n\n")
                self.finished = True
        return b"".join(out)

    def error(self, err: RouterError) -> bytes:
        # The OpenAI SDKs raise an APIError on a chunk carrying "error".
        return b"data: " + dumps({"error": {"message": err.message, "type": err.error_type}}) + b"\n\n"


def error_body(error_type: str, message: str) -> bytes:
    return dumps({"error": {"message": message, "type": error_type, "param": None, "code": error_type}})


# The OpenAI Chat Completions front door (router/protocols/base.py: FrontDoor), registered by the package.
FRONT_DOOR = Door(
    name=PROTOCOL, paths=("v1/chat/completions",), stream_media_type=STREAM_MEDIA_TYPE, parse=parse, render=render,
    stream_renderer=StreamRenderer, error_body=error_body)

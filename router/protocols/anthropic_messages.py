"""Anthropic Messages (``/v1/messages``): what claude-code speaks. SSE and JSON, tool_use blocks.

Token usage: Anthropic's ``input_tokens`` excludes cache reads, the canonical ``prompt`` includes
them (OpenAI's convention, which the pricing formula expects), hence the conversions below.
"""
from __future__ import annotations

from typing import Any

from pytest_arena.router.canonical import flatten_content, new_id, split_model_suffix
from pytest_arena.router.contracts import (
    CanonicalRequest,
    CanonicalResponse,
    Event,
    Finish,
    Message,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from pytest_arena.router.errors import ClientRequestError, RouterError
from pytest_arena.router.jsonfast import dumps, loads
from pytest_arena.router.protocols.base import Door

PROTOCOL = "anthropic"
STREAM_MEDIA_TYPE = "text/event-stream"
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "error": "end_turn"}


def _parse_message(i: int, m: Any) -> list[Message]:
    if not isinstance(m, dict) or m.get("role") not in ("user", "assistant", "system"):
        raise ClientRequestError(f"messages[{i}] must be an object with role 'user' or 'assistant'")
    role, content = m["role"], m.get("content")
    if role == "system":
        # claude-code (2.1.x) sends extra system text inside messages[]; keep it where it stands.
        return [Message(role="system", content=flatten_content(content))]
    if isinstance(content, str):
        return [Message(role=role, content=content)]
    if not isinstance(content, list):
        raise ClientRequestError(f"messages[{i}].content must be a string or an array of blocks")
    texts: list[str] = []
    out: list[Message] = []
    calls: list[ToolCall] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            if block.get("text"):
                texts.append(block["text"])
        elif kind == "tool_use":
            calls.append(ToolCall(id=block.get("id") or new_id("toolu_"), name=block.get("name", ""),
                                  arguments=dumps(block.get("input") or {}).decode()))
        elif kind == "tool_result":
            # is_error has no canonical field; the result text (the error message) goes as it is
            out.append(Message(role="tool", tool_call_id=block.get("tool_use_id"),
                               content=flatten_content(block.get("content"))))
        # thinking, images and documents are not routable to an arbitrary backend
    if role == "assistant":
        return [Message(role="assistant", content="\n".join(texts), tool_calls=calls)]
    if texts:  # tool results answer the previous turn, so they come before new user text
        out.append(Message(role="user", content="\n".join(texts)))
    return out


def _tool_choice(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if kind == "tool" and raw.get("name"):
        return {"type": "function", "function": {"name": raw["name"]}}
    choices: dict[object, str] = {"auto": "auto", "any": "required", "none": "none"}
    return choices.get(kind)


def parse(body: dict[str, Any]) -> CanonicalRequest:
    model, force = split_model_suffix(body.get("model"))
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ClientRequestError("'messages' must be a non-empty array")
    messages: list[Message] = []
    system = flatten_content(body.get("system"))
    if system:
        messages.append(Message(role="system", content=system))
    for i, m in enumerate(raw):
        messages.extend(_parse_message(i, m))
    tools = [ToolSpec(name=t["name"], description=t.get("description") or "", parameters=t.get("input_schema") or {})
             for t in body.get("tools") or () if isinstance(t, dict) and t.get("name") and "input_schema" in t]
    stop = body.get("stop_sequences")
    return CanonicalRequest(
        protocol=PROTOCOL,
        model=model,
        messages=messages,
        tools=tools,
        force=force,
        stream=bool(body.get("stream")),
        max_tokens=body.get("max_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=stop if isinstance(stop, list) else None,
        tool_choice=_tool_choice(body.get("tool_choice")),
    )


def usage_json(u: Usage) -> dict[str, Any]:
    return {"input_tokens": max(0, u.prompt - u.cached), "output_tokens": u.completion,
            "cache_read_input_tokens": u.cached, "cache_creation_input_tokens": 0}


def _tool_input(arguments: str) -> Any:
    try:
        return loads(arguments) if arguments else {}
    except ValueError:
        return {"_raw_arguments": arguments}


def render(resp: CanonicalResponse, req: CanonicalRequest) -> bytes:
    content: list[dict[str, Any]] = []
    if resp.text:
        content.append({"type": "text", "text": resp.text})
    for call in resp.tool_calls:
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _tool_input(call.arguments)})
    return dumps({"id": new_id("msg_"), "type": "message", "role": "assistant", "model": req.model,
                  "content": content, "stop_reason": STOP_REASONS[resp.finish_reason], "stop_sequence": None,
                  "usage": usage_json(resp.usage)})


def _sse(name: str, obj: dict[str, Any]) -> bytes:
    obj["type"] = name
    return b"event: " + name.encode() + b"\ndata: " + dumps(obj) + b"\n\n"


class StreamRenderer:
    """Renders a call's events as Messages SSE, a group of events at a time (one write each):
    content blocks opened and closed around text and each tool call."""

    __slots__ = ("req", "block", "open_kind", "usage", "started", "finished")

    def __init__(self, req: CanonicalRequest):
        self.req = req
        self.block = -1  # index of the open content block
        self.open_kind: str | None = None  # "text" or "tool:<canonical index>"
        self.usage = Usage()
        self.started = False
        self.finished = False  # message_stop was rendered

    def feed(self, events: list[Event]) -> bytes:
        out: list[bytes] = []
        if not self.started:
            self.started = True
            out.append(_sse("message_start", {"message": {
                "id": new_id("msg_"), "type": "message", "role": "assistant", "model": self.req.model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0}}}))
        for ev in events:
            if isinstance(ev, TextDelta):
                if not ev.text:
                    continue
                if self.open_kind != "text":
                    self._open("text", out, {"type": "text", "text": ""})
                out.append(_sse("content_block_delta", {"index": self.block,
                                                        "delta": {"type": "text_delta", "text": ev.text}}))
            elif isinstance(ev, ToolCallDelta):
                kind = f"tool:{ev.index}"
                if self.open_kind != kind:
                    self._open(kind, out, {"type": "tool_use", "id": ev.id or new_id("toolu_"),
                                           "name": ev.name or "", "input": {}})
                if ev.arguments:
                    out.append(_sse("content_block_delta", {"index": self.block, "delta": {
                        "type": "input_json_delta", "partial_json": ev.arguments}}))
            elif isinstance(ev, Usage):
                self.usage = ev
            elif isinstance(ev, Finish):
                self._close(out)
                out.append(_sse("message_delta", {"delta": {"stop_reason": STOP_REASONS[ev.reason],
                                                            "stop_sequence": None},
                                                  "usage": usage_json(self.usage)}))
                out.append(_sse("message_stop", {}))
                self.finished = True
        return b"".join(out)

    def _open(self, kind: str, out: list[bytes], content_block: dict[str, Any]) -> None:
        """Start a content block of ``kind``, closing the one open."""
        self._close(out)
        self.block += 1
        self.open_kind = kind
        out.append(_sse("content_block_start", {"index": self.block, "content_block": content_block}))

    def _close(self, out: list[bytes]) -> None:
        if self.open_kind is not None:
            out.append(_sse("content_block_stop", {"index": self.block}))
            self.open_kind = None

    def error(self, err: RouterError) -> bytes:
        return _sse("error", {"error": {"type": err.error_type, "message": err.message}})


def error_body(error_type: str, message: str) -> bytes:
    return dumps({"type": "error", "error": {"type": error_type, "message": message}})


# The Anthropic Messages front door (router/protocols/base.py: FrontDoor), registered by the package.
FRONT_DOOR = Door(
    name=PROTOCOL, paths=("v1/messages",), stream_media_type=STREAM_MEDIA_TYPE, parse=parse, render=render,
    stream_renderer=StreamRenderer, error_body=error_body)

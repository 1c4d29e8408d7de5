"""OpenAI Responses API (``/v1/responses``): what codex speaks. SSE and JSON.

Input items become chat messages (``function_call`` items join the preceding assistant turn,
``function_call_output`` items become tool messages); only ``function`` tools are routable.
"""
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

PROTOCOL = "openai-responses"
STREAM_MEDIA_TYPE = "text/event-stream"
_ROLES: dict[object, Role] = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def _parse_input(raw: Any, instructions: Any) -> list[Message]:
    messages: list[Message] = []
    if isinstance(instructions, str) and instructions:
        messages.append(Message(role="system", content=instructions))
    if isinstance(raw, str):
        messages.append(Message(role="user", content=raw))
        return messages
    if not isinstance(raw, list):
        raise ClientRequestError("'input' must be a string or an array of items")
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ClientRequestError(f"input[{i}] must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            role = _ROLES.get(item.get("role"))
            if role is None:
                raise ClientRequestError(f"input[{i}].role {item.get('role')!r} is not a message role")
            messages.append(Message(role=role, content=flatten_content(item.get("content"))))
        elif kind == "function_call":
            call = ToolCall(id=item.get("call_id") or item.get("id") or f"call_{i}",
                            name=item.get("name", ""), arguments=item.get("arguments") or "{}")
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                last.tool_calls.append(call)
            else:
                messages.append(Message(role="assistant", tool_calls=[call]))
        elif kind == "function_call_output":
            output = item.get("output")
            messages.append(Message(role="tool", tool_call_id=item.get("call_id"),
                                    content=output if isinstance(output, str) else flatten_content(output)))
        # reasoning items and other item kinds carry nothing a routed model can use
    if not messages:
        raise ClientRequestError("'input' is empty")
    return messages


def _tool_choice(raw: Any) -> Any:
    if isinstance(raw, dict) and raw.get("type") == "function" and raw.get("name"):
        return {"type": "function", "function": {"name": raw["name"]}}
    return raw


def parse(body: dict[str, Any]) -> CanonicalRequest:
    model, force = split_model_suffix(body.get("model"))
    tools = [ToolSpec(name=t["name"], description=t.get("description") or "", parameters=t.get("parameters") or {})
             for t in body.get("tools") or () if isinstance(t, dict) and t.get("type") == "function" and t.get("name")]
    return CanonicalRequest(
        protocol=PROTOCOL,
        model=model,
        messages=_parse_input(body.get("input"), body.get("instructions")),
        tools=tools,
        force=force,
        stream=bool(body.get("stream")),
        max_tokens=body.get("max_output_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        tool_choice=_tool_choice(body.get("tool_choice")),
        extra={"parallel_tool_calls": body.get("parallel_tool_calls", True)},
    )


def _usage(u: Usage) -> dict[str, Any]:
    return {"input_tokens": u.prompt, "input_tokens_details": {"cached_tokens": u.cached},
            "output_tokens": u.completion, "output_tokens_details": {"reasoning_tokens": u.reasoning},
            "total_tokens": u.prompt + u.completion}


def _message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "message", "id": item_id, "role": "assistant", "status": status,
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _call_item(item_id: str, call: ToolCall, status: str = "completed") -> dict[str, Any]:
    return {"type": "function_call", "id": item_id, "call_id": call.id, "name": call.name,
            "arguments": call.arguments, "status": status}


def _response(resp_id: str, req: CanonicalRequest, created: int, output: list[dict[str, Any]], status: str,
              usage: Usage | None) -> dict[str, Any]:
    body = {"id": resp_id, "object": "response", "created_at": created, "model": req.model,
            "status": status, "output": output, "parallel_tool_calls": req.extra.get("parallel_tool_calls", True),
            "tool_choice": req.tool_choice or "auto", "tools": [], "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "usage": _usage(usage) if usage is not None else None}
    return body


def render(resp: CanonicalResponse, req: CanonicalRequest) -> bytes:
    output = []
    if resp.text:
        output.append(_message_item(new_id("msg_"), resp.text))
    for call in resp.tool_calls:
        output.append(_call_item(new_id("fc_"), call))
    status = "incomplete" if resp.finish_reason == "length" else "completed"
    return dumps(_response(new_id("resp_"), req, int(time.time()), output, status, resp.usage))


def _sse(name: str, obj: dict[str, Any]) -> bytes:
    obj["type"] = name
    return b"event: " + name.encode() + b"\ndata: " + dumps(obj) + b"\n\n"


class _StreamState:
    """Tracks open output items so deltas become well-formed added/delta/done event sequences."""

    def __init__(self, req: CanonicalRequest):
        self.req = req
        self.resp_id = new_id("resp_")
        self.created = int(time.time())
        self.seq = 0
        self.output: list[dict[str, Any]] = []  # finished items
        self.text_item: str | None = None
        self.text: list[str] = []
        self.call_index: int | None = None  # canonical index of the open function call
        self.call: ToolCall | None = None
        self.call_item: str = ""

    def ev(self, name: str, obj: dict[str, Any]) -> bytes:
        obj["sequence_number"] = self.seq
        self.seq += 1
        return _sse(name, obj)

    def close_open_item(self) -> list[bytes]:
        out = []
        idx = len(self.output)
        if self.text_item is not None:
            text = "".join(self.text)
            part = {"type": "output_text", "text": text, "annotations": []}
            out.append(self.ev("response.output_text.done", {"output_index": idx, "item_id": self.text_item,
                                                            "content_index": 0, "text": text}))
            out.append(self.ev("response.content_part.done", {"output_index": idx, "item_id": self.text_item,
                                                              "content_index": 0, "part": part}))
            item = _message_item(self.text_item, text)
            out.append(self.ev("response.output_item.done", {"output_index": idx, "item": item}))
            self.output.append(item)
            self.text_item, self.text = None, []
        elif self.call is not None:
            out.append(self.ev("response.function_call_arguments.done",
                               {"output_index": idx, "item_id": self.call_item, "arguments": self.call.arguments}))
            item = _call_item(self.call_item, self.call)
            out.append(self.ev("response.output_item.done", {"output_index": idx, "item": item}))
            self.output.append(item)
            self.call, self.call_index = None, None
        return out

    def text_delta(self, text: str) -> list[bytes]:
        out = []
        idx = len(self.output)
        if self.text_item is None:
            out += self.close_open_item()
            idx = len(self.output)
            self.text_item = new_id("msg_")
            out.append(self.ev("response.output_item.added", {"output_index": idx, "item": {
                "type": "message", "id": self.text_item, "role": "assistant", "status": "in_progress", "content": []}}))
            out.append(self.ev("response.content_part.added", {
                "output_index": idx, "item_id": self.text_item, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []}}))
        self.text.append(text)
        out.append(self.ev("response.output_text.delta", {"output_index": idx, "item_id": self.text_item,
                                                          "content_index": 0, "delta": text}))
        return out

    def call_delta(self, d: ToolCallDelta) -> list[bytes]:
        out = []
        if self.call is None or d.index != self.call_index:
            out += self.close_open_item()
            self.call_index = d.index
            self.call = ToolCall(id=d.id or new_id("call_"), name=d.name or "", arguments="")
            self.call_item = new_id("fc_")
            out.append(self.ev("response.output_item.added",
                               {"output_index": len(self.output),
                                "item": _call_item(self.call_item, self.call, "in_progress")}))
        if d.arguments:
            self.call.arguments += d.arguments
            out.append(self.ev("response.function_call_arguments.delta", {
                "output_index": len(self.output), "item_id": self.call_item, "delta": d.arguments}))
        return out


class StreamRenderer:
    """Renders a call's events as Responses API SSE, a group of events at a time (one write each)."""

    __slots__ = ("req", "st", "usage", "started", "finished")

    def __init__(self, req: CanonicalRequest):
        self.req = req
        self.st = _StreamState(req)
        self.usage: Usage | None = None
        self.started = False
        self.finished = False  # the final response.completed / incomplete was rendered

    def feed(self, events: list[Event]) -> bytes:
        st, req = self.st, self.req
        out: list[bytes] = []
        if not self.started:
            self.started = True
            out.append(st.ev("response.created", {"response": _response(st.resp_id, req, st.created, [],
                                                                        "in_progress", None)}))
        for ev in events:
            if isinstance(ev, TextDelta):
                if ev.text:
                    out += st.text_delta(ev.text)
            elif isinstance(ev, ToolCallDelta):
                out += st.call_delta(ev)
            elif isinstance(ev, Usage):
                self.usage = ev
            elif isinstance(ev, Finish):
                out += st.close_open_item()
                status = "incomplete" if ev.reason == "length" else "completed"
                final = _response(st.resp_id, req, st.created, st.output, status, self.usage or Usage())
                out.append(st.ev(f"response.{status}", {"response": final}))
                self.finished = True
        return b"".join(out)

    def error(self, err: RouterError) -> bytes:
        st = self.st
        failed = _response(st.resp_id, self.req, st.created, st.output, "failed", self.usage)
        failed["error"] = {"code": err.error_type, "message": err.message}
        return st.ev("response.failed", {"response": failed})


def error_body(error_type: str, message: str) -> bytes:
    return dumps({"error": {"message": message, "type": error_type, "param": None, "code": error_type}})


# The OpenAI Responses front door (router/protocols/base.py: FrontDoor), registered by the package.
FRONT_DOOR = Door(
    name=PROTOCOL, paths=("v1/responses",), stream_media_type=STREAM_MEDIA_TYPE, parse=parse, render=render,
    stream_renderer=StreamRenderer, error_body=error_body)

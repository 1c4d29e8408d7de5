"""Ollama API (``/api/chat`` NDJSON, plus the discovery endpoints clients probe).

Differences from OpenAI that matter: ``stream`` defaults to true, tool-call arguments are JSON
objects (not strings), tool calls carry no ids (we assign them so the canonical form can pair
calls with results), and a tool call arrives whole in one chunk.
"""
from __future__ import annotations

import time
from typing import Any

from pytest_arena.router.canonical import ToolCallAssembler, flatten_content, split_model_suffix
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
    Usage,
)
from pytest_arena.router.errors import ClientRequestError, RouterError
from pytest_arena.router.jsonfast import dumps, loads
from pytest_arena.router.protocols.base import Door
from pytest_arena.router.protocols.openai_chat import parse_tools

PROTOCOL = "ollama"
STREAM_MEDIA_TYPE = "application/x-ndjson"
# codex --oss refuses Ollama older than 0.13.4.
COMPATIBLE_VERSION = "0.13.4"
_ROLES: dict[object, Role] = {"system": "system", "user": "user", "assistant": "assistant", "tool": "tool"}


def _parse_messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise ClientRequestError("'messages' must be a non-empty array")
    out: list[Message] = []
    pending: list[ToolCall] = []  # calls of the last assistant turn not yet answered, in order
    for i, m in enumerate(raw):
        role = _ROLES.get(m.get("role")) if isinstance(m, dict) else None
        if role is None:
            raise ClientRequestError(f"messages[{i}] must be an object with a chat role")
        msg = Message(role=role, content=flatten_content(m.get("content")))
        if role == "assistant":
            pending = []
            for j, tc in enumerate(m.get("tool_calls") or ()):
                fn = tc.get("function") or {}
                args = fn.get("arguments")
                call = ToolCall(id=tc.get("id") or f"call_{i}_{j}", name=fn.get("name", ""),
                                arguments=args if isinstance(args, str) else dumps(args or {}).decode())
                msg.tool_calls.append(call)
                pending.append(call)
        elif role == "tool":
            name = m.get("tool_name") or m.get("name")
            match = next((c for c in pending if c.name == name), None) if name else None
            match = match or (pending[0] if pending else None)
            if match is not None:
                pending.remove(match)
                msg.tool_call_id, msg.name = match.id, match.name
            else:
                msg.name = name
        out.append(msg)
    return out


def parse(body: dict[str, Any]) -> CanonicalRequest:
    model, force = split_model_suffix(body.get("model"))
    options = body.get("options") or {}
    stop = options.get("stop")
    max_tokens = options.get("num_predict")
    return CanonicalRequest(
        protocol=PROTOCOL,
        model=model,
        messages=_parse_messages(body.get("messages")),
        tools=parse_tools(body.get("tools")),
        force=force,
        stream=body.get("stream", True) is not False,
        max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
        temperature=options.get("temperature"),
        top_p=options.get("top_p"),
        seed=options.get("seed"),
        stop=[stop] if isinstance(stop, str) else stop,
        extra={"format": body["format"]} if body.get("format") else {},
    )


def _arguments_object(arguments: str) -> Any:
    try:
        return loads(arguments) if arguments else {}
    except ValueError:
        return {}


def _tool_calls_json(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"function": {"index": i, "name": c.name, "arguments": _arguments_object(c.arguments)}}
            for i, c in enumerate(calls)]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


def _final_fields(usage: Usage, reason: str, elapsed_ns: int) -> dict[str, Any]:
    return {"done": True, "done_reason": "length" if reason == "length" else "stop",
            "total_duration": elapsed_ns, "load_duration": 0,
            "prompt_eval_count": usage.prompt, "prompt_eval_duration": 0,
            "eval_count": usage.completion, "eval_duration": elapsed_ns}


def render(resp: CanonicalResponse, req: CanonicalRequest) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": resp.text}
    if resp.tool_calls:
        message["tool_calls"] = _tool_calls_json(resp.tool_calls)
    return dumps({"model": req.model, "created_at": _now(), "message": message,
                  **_final_fields(resp.usage, resp.finish_reason, 0)})


class StreamRenderer:
    """Renders a call's events as Ollama's NDJSON, a group of events at a time (one write each)."""

    __slots__ = ("started", "head", "tools", "usage", "finished")

    def __init__(self, req: CanonicalRequest):
        self.started = time.perf_counter_ns()
        self.head = dumps({"model": req.model, "created_at": _now()})[:-1]
        self.tools = ToolCallAssembler()
        self.usage = Usage()
        self.finished = False  # the final ``done`` line was rendered

    def feed(self, events: list[Event]) -> bytes:
        head = self.head
        out: list[bytes] = []
        for ev in events:
            if isinstance(ev, TextDelta):
                if ev.text:
                    out.append(head + b',"message":{"role":"assistant","content":' + dumps(ev.text)
                               + b'},"done":false}\n')
            elif isinstance(ev, ToolCallDelta):
                self.tools.add(ev)  # Ollama sends each call whole, so calls go out together at the end
            elif isinstance(ev, Usage):
                self.usage = ev
            elif isinstance(ev, Finish):
                if self.tools:
                    message = {"role": "assistant", "content": "", "tool_calls": _tool_calls_json(self.tools.calls())}
                    out.append(head + b',"message":' + dumps(message) + b',"done":false}\n')
                final = {"message": {"role": "assistant", "content": ""},
                         **_final_fields(self.usage, ev.reason, time.perf_counter_ns() - self.started)}
                out.append(head + b"," + dumps(final)[1:] + b"\n")
                self.finished = True
        return b"".join(out)

    def error(self, err: RouterError) -> bytes:
        return dumps({"error": err.message}) + b"\n"


def error_body(error_type: str, message: str) -> bytes:
    return dumps({"error": message})


def tags_body(model: str) -> bytes:
    name = model if ":" in model else model + ":latest"
    return dumps({"models": [{"name": name, "model": name, "modified_at": "2026-01-01T00:00:00Z", "size": 0,
                              "digest": "0" * 64, "details": _details()}]})


def _details() -> dict[str, Any]:
    return {"parent_model": "", "format": "gguf", "family": "arena", "families": ["arena"],
            "parameter_size": "unknown", "quantization_level": "unknown"}


def show_body(num_ctx: int | None) -> bytes:
    ctx = num_ctx or 32768
    return dumps({"modelfile": "", "parameters": f"num_ctx {ctx}", "template": "{{ .Prompt }}",
                  "details": _details(),
                  "model_info": {"general.architecture": "arena", "arena.context_length": ctx},
                  "capabilities": ["completion", "tools"]})


def version_body() -> bytes:
    return dumps({"version": COMPATIBLE_VERSION})


# Ollama's native chat front door (router/protocols/base.py: FrontDoor), registered by the package.
FRONT_DOOR = Door(
    name=PROTOCOL, paths=("api/chat",), stream_media_type=STREAM_MEDIA_TYPE, parse=parse, render=render,
    stream_renderer=StreamRenderer, error_body=error_body)

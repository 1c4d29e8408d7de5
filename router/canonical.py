"""Helpers shared by the front doors and backends for the canonical form (see contracts.py)."""
from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from typing import Any

from pytest_arena.router.contracts import (
    CanonicalRequest,
    CanonicalResponse,
    Event,
    Finish,
    Side,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from pytest_arena.router.errors import ClientRequestError

_FORCING_SUFFIXES: dict[str, Side] = {"!local": "local", "!cloud": "cloud"}


def split_forcing(model: str) -> tuple[str, Side | None]:
    """``"gpt-5.5!cloud"`` -> ``("gpt-5.5", "cloud")``; a name without a suffix is returned as is.

    The suffix is removed wherever it sits, because some clients append to the name (Ollama
    clients may add ``:latest`` after it). Both suffixes at once is a mistake, reported as such.
    """
    found = [side for token, side in _FORCING_SUFFIXES.items() if token in model]
    if len(found) > 1:
        raise ValueError(f"model name {model!r} carries both !local and !cloud; keep one")
    for token in _FORCING_SUFFIXES:
        model = model.replace(token, "")
    return model, (found[0] if found else None)


def split_model_suffix(model: Any) -> tuple[str, Side | None]:
    """``"gpt!cloud"`` -> ``("gpt", "cloud")``, as ``split_forcing``, with protocol errors."""
    try:
        return split_forcing(model if isinstance(model, str) else "")
    except ValueError as exc:
        raise ClientRequestError(str(exc)) from None


def flatten_content(content: Any) -> str:
    """Content as a string: text parts of an array joined by newlines; images and the like dropped."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        text: str | None
        for part in content:
            if isinstance(part, str):
                text = part
            elif isinstance(part, dict):
                text = part.get("text")
                if text is None and isinstance(part.get("content"), (str, list)):
                    text = flatten_content(part["content"])
            else:
                text = None
            if text:
                parts.append(text)
        return "\n".join(parts)
    if isinstance(content, dict) and isinstance(text := content.get("text"), str):
        return text
    return str(content)


_ID_BASE = os.urandom(6).hex()  # unique per process; a counter makes each id unique within it
_id_counter = itertools.count()


def new_id(prefix: str) -> str:
    return f"{prefix}{_ID_BASE}{next(_id_counter):08x}"


def estimate_prompt_tokens(req: CanonicalRequest) -> int:
    """chars/4 over messages and tool schemas: for count_tokens and budget estimates only."""
    chars = 0
    for msg in req.messages:
        chars += len(msg.content)
        for call in msg.tool_calls:
            chars += len(call.name) + len(call.arguments)
    for tool in req.tools:
        chars += len(tool.name) + len(tool.description) + len(str(tool.parameters))
    return (chars + 3) // 4


class ToolCallAssembler:
    """Joins ToolCallDelta fragments into whole ToolCalls, keyed by index, in index order."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]

    def add(self, delta: ToolCallDelta) -> None:
        slot = self._calls.get(delta.index)
        if slot is None:
            slot = self._calls[delta.index] = [delta.id or "", delta.name or "", ""]
        else:
            if delta.id and not slot[0]:
                slot[0] = delta.id
            if delta.name and not slot[1]:
                slot[1] = delta.name
        slot[2] += delta.arguments

    def calls(self) -> list[ToolCall]:
        out = []
        for index in sorted(self._calls):
            call_id, name, arguments = self._calls[index]
            out.append(ToolCall(id=call_id or new_id("call_"), name=name, arguments=arguments or "{}"))
        return out

    def __bool__(self) -> bool:
        return bool(self._calls)


async def collect(events: AsyncIterator[Event]) -> CanonicalResponse:
    """Aggregate a backend's event stream into one response (non-streaming front doors)."""
    resp = CanonicalResponse()
    text: list[str] = []
    tools = ToolCallAssembler()
    async for ev in events:
        if isinstance(ev, TextDelta):
            text.append(ev.text)
        elif isinstance(ev, ToolCallDelta):
            tools.add(ev)
        elif isinstance(ev, Usage):
            resp.usage = ev
        elif isinstance(ev, Finish):
            resp.finish_reason = ev.reason
            resp.model = ev.model
    resp.text = "".join(text)
    resp.tool_calls = tools.calls()
    return resp


def events_of(resp: CanonicalResponse) -> list[Event]:
    """A whole response as the event sequence a backend would stream."""
    events: list[Event] = []
    if resp.text:
        events.append(TextDelta(resp.text))
    for i, call in enumerate(resp.tool_calls):
        events.append(ToolCallDelta(index=i, id=call.id, name=call.name, arguments=call.arguments))
    events.append(resp.usage)
    events.append(Finish(resp.finish_reason, resp.model))
    return events

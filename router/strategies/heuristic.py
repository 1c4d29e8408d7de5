"""``heuristic``: the agent-aware score, with the legacy score for calls that are not agent calls.

Agent call (tools offered, tool messages, assistant tool calls, or a known agent's system prompt):
the score looks at the *delta*, the newest tool result or user message, because an agent's prompt
grows every turn while only the delta is new work:

    score = min(20, tokens(delta)/60) + 4*code_blocks(delta) + 8*cloud_keywords(delta)
            - 12 if the delta is a tool result
            -  8 if the previous assistant turn called a tool
            + 15 on the first call (no assistant message yet: planning is worth the big model)
    cloud iff score >= heuristic.threshold (12)

Tool results count as tool results whether they come as ``tool`` messages or, as in cline's and
Roo Code's text protocol and mini-swe-agent's text mode, inside a user message. The original only
knew the first form, so every long cline tool output went to the cloud.

Not an agent call: the legacy score on the last user message,

    score = min(20, tokens/80) + 6*code_blocks + 14*cloud_keywords - 18*local_keywords
            + 6 if at least legacy.many_tools tools are offered
    cloud iff score >= legacy.threshold (25)
"""
from __future__ import annotations

import functools
import re
from typing import Any

from pytest_arena.router.contracts import CanonicalRequest, Message, Side
from pytest_arena.router.strategies.base import Decision, Strategy, StrategyContext
from pytest_arena.router.strategies.params import HEURISTIC, LEGACY, param
from pytest_arena.router.strategies.text import (
    CLOUD,
    LOCAL,
    KeywordList,
    approx_tokens,
    count_code_blocks,
    last_user_text,
    system_text,
)

# System-prompt phrases of known coding agents (whole words, any case). The original's generic
# markers "Continue", "Cursor" and "Warp" are left out: matched case-insensitively as words they
# fire on ordinary instructions ("continue until the tests pass", "cursor position").
AGENT_MARKERS: tuple[str, ...] = (
    "you are a helpful assistant that can interact with a computer",  # mini-swe-agent v1 and v2
    "mswea_bash_command",  # mini-swe-agent text mode's action fence
    "mini-swe-agent",
    "submit your solution",
    "you are a software engineer interacting continuously with a computer",
    "<pr_description>",
    "act as an expert software developer",  # aider: code mode (whole/diff/udiff) and editor modes
    "act as an expert architect engineer",  # aider: architect mode
    "act as an expert code analyst",  # aider: ask/context modes
    "aider",
    "opencode",
    "claude code",
    "cline",
    "roo code",
)

# Tool results that agents put into *user* messages. Looked for at the head of the message only,
# where these agents put them, so a 1 MB file listing costs nothing extra.
_TOOL_RESULT_IN_USER = re.compile(
    r"^\s*\[[^\]\n]{1,200}\] Result:"  # cline / Roo Code: "[execute_command for 'pytest'] Result:"
    r"|<returncode>"  # mini-swe-agent text mode observation
    r"|<tool_result\b|<function_results>",
    re.IGNORECASE | re.MULTILINE,
)
_TOOL_RESULT_HEAD_CHARS = 2000


@functools.lru_cache(maxsize=64)
def _markers(extra: tuple[str, ...]) -> KeywordList:
    return KeywordList(AGENT_MARKERS + extra)


def agent_signal(req: CanonicalRequest, extra_markers: tuple[str, ...] = ()) -> str | None:
    """Why this looks like an agent call, or None. Structural signals first, then markers."""
    if req.tools:
        return f"{len(req.tools)} tools offered"
    for message in req.messages:
        if message.role == "tool":
            return "tool messages"
        if message.role == "assistant" and message.tool_calls:
            return "assistant tool calls"
    marker = _markers(extra_markers).first(system_text(req.messages))
    return None if marker is None else f"system prompt marker {marker!r}"


def _delta(messages: list[Message]) -> tuple[str, str]:
    """(kind, text) of the newest tool result or user message: kind is "tool",
    "tool-result-in-user", "user", or "none"."""
    for message in reversed(messages):
        if message.role == "tool":
            return "tool", message.content
        if message.role == "user":
            head = message.content[:_TOOL_RESULT_HEAD_CHARS]
            kind = "tool-result-in-user" if _TOOL_RESULT_IN_USER.search(head) else "user"
            return kind, message.content
    return "none", ""


def _last_assistant(messages: list[Message]) -> Message | None:
    for message in reversed(messages):
        if message.role == "assistant":
            return message
    return None


def legacy(req: CanonicalRequest, params: dict[str, Any]) -> Decision:
    """The legacy score on the last user message (non-agent calls, phase-aware's fallback)."""
    threshold = param(params, "legacy.threshold")
    text = last_user_text(req.messages)
    lowered = text.lower()
    tokens = approx_tokens(text)
    blocks = count_code_blocks(text)
    cloud_words = CLOUD.found(lowered)
    local_words = LOCAL.found(lowered)
    many_tools = len(req.tools) >= param(params, "legacy.many_tools")
    score = (min(20.0, tokens / 80) + 6 * blocks + 14 * len(cloud_words) - 18 * len(local_words)
             + (6 if many_tools else 0))
    choice: Side = "cloud" if score >= threshold else "local"
    distance = abs(score - threshold)
    meta = {"score": round(score, 3), "threshold": threshold, "distance": round(distance, 3),
            "tokens": tokens, "code_blocks": blocks, "cloud_keywords": cloud_words,
            "local_keywords": local_words}
    relation = ">=" if choice == "cloud" else "<"
    reason = f"legacy: score {score:.1f} {relation} {threshold} -> {choice}"
    return Decision(choice, reason, min(1.0, 0.5 + distance / 50), meta)


def agent_score(req: CanonicalRequest, params: dict[str, Any]) -> Decision:
    """The agent-aware score on the delta (see the module docstring)."""
    threshold = param(params, "heuristic.threshold")
    kind, delta = _delta(req.messages)
    lowered = delta.lower()
    tokens = approx_tokens(delta)
    blocks = count_code_blocks(delta)
    cloud_words = CLOUD.found(lowered)
    score = min(20.0, tokens / 60) + 4 * blocks + 8 * len(cloud_words)
    adjustments = []
    if kind in ("tool", "tool-result-in-user"):
        score -= 12
        adjustments.append("tool result -12")
    assistant = _last_assistant(req.messages)
    if assistant is not None and (assistant.tool_calls or kind == "tool-result-in-user"):
        score -= 8
        adjustments.append("after a tool call -8")
    if assistant is None:
        score += 15
        adjustments.append("first call +15")
    choice: Side = "cloud" if score >= threshold else "local"
    distance = abs(score - threshold)
    meta = {"score": round(score, 3), "threshold": threshold, "distance": round(distance, 3),
            "delta_kind": kind, "delta_tokens": tokens, "code_blocks": blocks,
            "cloud_keywords": cloud_words, "adjustments": adjustments}
    relation = ">=" if choice == "cloud" else "<"
    detail = f"delta {kind} ~{tokens} tok" + (", " + ", ".join(adjustments) if adjustments else "")
    reason = f"score {score:.1f} {relation} {threshold} ({detail}) -> {choice}"
    return Decision(choice, reason, min(1.0, 0.5 + distance / 30), meta)


def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    extra = tuple(param(ctx.params, "heuristic.agent_markers"))
    signal = agent_signal(req, extra)
    if signal is None:
        decision = legacy(req, ctx.params)
        decision.reason = "heuristic[not-agent -> legacy]: " + decision.reason
        decision.meta["path"] = "legacy"
        return decision
    decision = agent_score(req, ctx.params)
    decision.reason = f"heuristic[agent: {signal}]: " + decision.reason
    decision.meta["path"] = "agent"
    decision.meta["agent_signal"] = signal
    return decision


STRATEGY = Strategy("heuristic", decide, params=HEURISTIC | LEGACY)

"""``llm-classifier`` and ``cascade``: ask a small model whether the request is SIMPLE or COMPLEX.

The classifier call goes through ``ctx.complete`` (the router records and prices it), at
temperature 0 with a tiny output cap, under ``ctx.classifier_timeout_s`` (the original had no
timeout). The router's ``complete`` enforces that timeout itself, where it records the call (so
the ledger says ``timeout``); the wait here, a little longer, only stops a ``complete`` that
enforces none. COMPLEX -> cloud, SIMPLE -> local (confidence 0.8); an unclear reply -> local
(0.4); a failed call -> local (0.3) with the error in the reason, a timed-out one saying so.

``cascade`` runs ``heuristic`` first and trusts it when its score is far from the threshold
(distance > cascade.threshold); otherwise it asks the classifier: agreement keeps the choice with a
higher confidence, disagreement follows the classifier. Unlike the original, a classifier that
failed or answered unclearly abstains (the heuristic's choice stands) instead of its default
"local" overruling the heuristic.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any

from pytest_arena.router.contracts import CanonicalRequest, Message
from pytest_arena.router.strategies import heuristic
from pytest_arena.router.strategies.base import Decision, Strategy, StrategyContext
from pytest_arena.router.strategies.params import CASCADE, CLASSIFIER, HEURISTIC, LEGACY, param
from pytest_arena.router.strategies.text import last_user_text

CLASSIFIER_SYSTEM_PROMPT = (
    "You sort requests sent to a coding assistant by how hard they are.\n"
    "SIMPLE: small and well defined: rename, fix a typo, format code, add a comment or docstring, "
    "write a short function, run or read something, fix one obvious error.\n"
    "COMPLEX: needs planning or deep reasoning: design or architecture, changes across many "
    "files, concurrency, security, performance work, debugging without an obvious cause.\n"
    "Answer with exactly one word: SIMPLE or COMPLEX."
)
_THINK_BLOCK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_LEADING_NOISE = re.compile(r"^[\s*_`\"'#:.\-]+")
BACKSTOP_GRACE_S = 1.0  # past ctx.classifier_timeout_s, for a complete() that enforces no timeout


def classifier_request(text: str, max_tokens: int) -> CanonicalRequest:
    return CanonicalRequest(
        protocol="openai-chat",
        model="router-classifier",
        messages=[Message("system", CLASSIFIER_SYSTEM_PROMPT), Message("user", text)],
        stream=False,
        max_tokens=max_tokens,
        temperature=0.0,
    )


def read_verdict(reply: str) -> str | None:
    """"COMPLEX" / "SIMPLE" from the model's reply (thinking and markup stripped), else None."""
    answer = _LEADING_NOISE.sub("", _THINK_BLOCK.sub("", reply)).upper()
    for verdict in ("COMPLEX", "SIMPLE"):
        if answer.startswith(verdict):
            return verdict
    return None


async def classify(text: str, ctx: StrategyContext) -> Decision:
    """One classifier call on ``text``; never raises."""
    if ctx.complete is None:
        return Decision("local", "llm-classifier: no classifier model configured -> local", 0.3,
                        {"failed": True, "error": "no classifier model configured"})
    max_chars = param(ctx.params, "classifier.max_chars")
    request = classifier_request(text[:max_chars], param(ctx.params, "classifier.max_tokens"))
    timeout = ctx.classifier_timeout_s
    try:
        response = await asyncio.wait_for(ctx.complete(request), timeout + BACKSTOP_GRACE_S)
        if response.finish_reason == "error":
            raise RuntimeError(f"classifier model returned an error: {response.text[:200]!r}")
    except Exception as exc:  # any transport or model error: route, don't crash the agent's call
        if isinstance(exc, TimeoutError) or getattr(exc, "status", None) == "timeout":
            error = f"TimeoutError: no reply within {timeout:g} s"
            return Decision("local", f"llm-classifier: classifier timed out ({error}) -> local", 0.3,
                            {"failed": True, "timed_out": True, "error": error})
        error = f"{type(exc).__name__}: {exc}"
        return Decision("local", f"llm-classifier: classifier call failed ({error}) -> local", 0.3,
                        {"failed": True, "error": error})
    verdict = read_verdict(response.text)
    meta: dict[str, Any] = {"reply": response.text[:80], "verdict": verdict, "classifier_model": response.model}
    if verdict == "COMPLEX":
        return Decision("cloud", "llm-classifier: COMPLEX -> cloud", 0.8, meta)
    if verdict == "SIMPLE":
        return Decision("local", "llm-classifier: SIMPLE -> local", 0.8, meta)
    meta["unclear"] = True
    return Decision("local", f"llm-classifier: unclear reply {response.text[:40]!r} -> local", 0.4,
                    meta)


async def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    return await classify(last_user_text(req.messages), ctx)


async def decide_cascade(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    threshold = param(ctx.params, "cascade.threshold")
    first = heuristic.decide(req, ctx)
    distance = first.meta.get("distance", 999)
    meta = {"distance": distance, "cascade_threshold": threshold, "heuristic": first.meta,
            "heuristic_choice": first.choice}
    if distance > threshold:
        return Decision(first.choice,
                        f"cascade[heuristic sure: distance {distance:.1f} > {threshold}]: "
                        f"{first.reason}", first.confidence, meta | {"stage": "heuristic"})

    second = await classify(last_user_text(req.messages), ctx)
    meta |= {"classifier": second.meta, "classifier_choice": second.choice, "stage": "classifier"}
    prefix = f"cascade[heuristic unsure: distance {distance:.1f} <= {threshold}]"
    if second.meta.get("failed") or second.meta.get("unclear"):
        return Decision(first.choice, f"{prefix}: classifier abstained ({second.reason}); "
                        f"keeping {first.reason}", first.confidence, meta)
    if second.choice == first.choice:
        confidence = min(1.0, 0.5 + (first.confidence + second.confidence) / 4)
        return Decision(first.choice, f"{prefix}: classifier agrees -> {first.choice}",
                        confidence, meta)
    return Decision(second.choice, f"{prefix}: classifier overrules {first.choice} -> "
                    f"{second.choice}", max(second.confidence - 0.1, 0.5), meta)


CLASSIFIER_STRATEGY = Strategy("llm-classifier", decide, params=CLASSIFIER, needs=frozenset({"classifier"}))
CASCADE_STRATEGY = Strategy("cascade", decide_cascade, params=CASCADE | HEURISTIC | LEGACY | CLASSIFIER,
                            needs=frozenset({"classifier"}))

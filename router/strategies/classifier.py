from __future__ import annotations
from ..contracts import CanonicalRequest
from .base import Decision, StrategyContext

async def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    raise NotImplementedError("llm-classifier: in progress")

async def decide_cascade(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    raise NotImplementedError("cascade: in progress")

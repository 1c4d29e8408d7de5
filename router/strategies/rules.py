from __future__ import annotations
from ..contracts import CanonicalRequest
from .base import Decision, StrategyContext

def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    raise NotImplementedError("rules: in progress")

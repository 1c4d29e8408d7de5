from __future__ import annotations
from ..contracts import CanonicalRequest
from .base import Decision, StrategyContext

async def warm_up(ctx: StrategyContext) -> None:
    return None

async def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    raise NotImplementedError("embedding-knn: in progress")

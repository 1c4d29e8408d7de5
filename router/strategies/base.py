"""What every strategy returns and what it may use besides the request."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_arena.router.contracts import CanonicalRequest, CanonicalResponse, Side

Complete = Callable[[CanonicalRequest], Awaitable[CanonicalResponse]]
Embed = Callable[[list[str]], Awaitable[list[list[float]]]]


@dataclass(slots=True)
class Decision:
    choice: Side
    reason: str  # one line, written to the ledger
    confidence: float  # 0..1
    meta: dict[str, Any] = field(default_factory=dict)  # scores, thresholds, phase, ...


@dataclass(slots=True)
class StrategyContext:
    """One run's routing context, built by the router at run registration and reused per call."""

    params: dict[str, Any]  # validate_params(name, spec.strategy_params): merged over DEFAULT_PARAMS
    # The classifier model call; the router records and prices it in the ledger (purpose "classifier").
    complete: Complete | None = None
    # The embedding call; the router records and prices it (purpose "embedding").
    # None: embedding-knn uses its offline fallback.
    embed: Embed | None = None
    classifier_timeout_s: float = 10.0
    embed_timeout_s: float = 10.0  # per query embedding; the corpus is embedded once by warm_up
    # Per-run cache owned by the strategies (e.g. the kNN corpus vectors embedded by warm_up).
    state: dict[str, Any] = field(default_factory=dict)

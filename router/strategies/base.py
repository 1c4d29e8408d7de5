"""What a strategy is, as everything outside it sees it: its record (``Strategy``), what it
returns (``Decision``) and what it may use besides the request (``StrategyContext``); a threshold
is a ``ParamSpec`` (``params.py``).

The harness asks a strategy only what its record says: which sides it can reach (which backends
and keys a cell must prepare), which params it reads (config checks, sweeps, defaults), which
helper models must be started (classifier, embedder) and what to do once per run (``warm_up``).
A new strategy is one record in one module plus one ``register_strategy`` call.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from pytest_arena.router.contracts import CanonicalRequest, CanonicalResponse, Side
from pytest_arena.router.strategies.params import ParamSpec

__all__ = ["NEEDS", "SIDES", "Complete", "Decide", "Decision", "Embed", "Need", "Strategy", "StrategyContext", "WarmUp"]

Complete = Callable[[CanonicalRequest], Awaitable[CanonicalResponse]]
Embed = Callable[[list[str]], Awaitable[list[list[float]]]]

SIDES: tuple[Side, ...] = ("local", "cloud")
# "classifier": the run must have a classifier model (models.router_classifier); the router refuses
# the run without one. "embedder": the embedding model (models.embedding) is started when the config
# names one; without it ctx.embed is None and the strategy must cope (embedding-knn falls back offline).
Need = Literal["classifier", "embedder"]
NEEDS: tuple[Need, ...] = ("classifier", "embedder")


@dataclass(slots=True)
class Decision:
    choice: Side
    reason: str  # one line, written to the ledger
    confidence: float  # 0..1
    meta: dict[str, Any] = field(default_factory=dict)  # scores, thresholds, phase, ...


@dataclass(slots=True)
class StrategyContext:
    """One run's routing context, built by the router at run registration and reused per call."""

    params: dict[str, Any]  # validate_params(name, spec.strategy_params): merged over the strategy's defaults
    # The classifier model call; the router records and prices it in the ledger (purpose "classifier").
    complete: Complete | None = None
    # The embedding call; the router records and prices it (purpose "embedding").
    # None: embedding-knn uses its offline fallback.
    embed: Embed | None = None
    classifier_timeout_s: float = 10.0
    embed_timeout_s: float = 10.0  # per query embedding; the corpus is embedded once by warm_up
    # Per-run cache owned by the strategies (e.g. the kNN corpus vectors embedded by warm_up).
    state: dict[str, Any] = field(default_factory=dict)


Decide = Callable[[CanonicalRequest, StrategyContext], Decision | Awaitable[Decision]]
WarmUp = Callable[[StrategyContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Strategy:
    """One routing strategy: its name and everything the harness may ask about it.

    ``params`` holds every param the strategy reads, by dotted name, its own group first: a bare
    name in a sweep entry (``{cascade: {threshold: [5, 10]}}``) belongs to that first group, and
    the operating point's label drops it (``cascade@threshold=5``). Strategies that read the same
    group share the same ``ParamSpec`` objects (cascade reads heuristic's).
    """

    name: str  # as configs, cell ids, rows and the ledger spell it
    decide: Decide  # the Decision for one call; a plain function or a coroutine function
    sides: tuple[Side, ...] = SIDES  # the sides it routes to by itself (a !local/!cloud suffix can force the other)
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    needs: frozenset[Need] = frozenset()  # helper models the run must have (see ``Need``)
    warm_up: WarmUp | None = None  # once per run, at registration, so no routed call pays for it

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "needs", frozenset(self.needs))
        object.__setattr__(self, "sides", tuple(self.sides))

    @property
    def param_groups(self) -> tuple[str, ...]:
        """The groups of the params it reads, its own first: ``("cascade", "heuristic", ...)``."""
        return tuple(dict.fromkeys(key.split(".", 1)[0] for key in self.params))

    def defaults(self) -> dict[str, Any]:
        """Its params at their defaults; list defaults are copied, so a caller cannot change them."""
        return {key: list(spec.default) if isinstance(spec.default, list) else spec.default
                for key, spec in self.params.items()}

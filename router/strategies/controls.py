"""``always-local`` and ``always-cloud``: the controls every strategy is compared against.

Each routes every call to one side, so a cell of it needs only that side's backend (an
always-local sweep needs no cloud key, an always-cloud sweep no local server).
"""
from __future__ import annotations

from pytest_arena.router.contracts import CanonicalRequest, Side
from pytest_arena.router.strategies.base import Decide, Decision, Strategy, StrategyContext

__all__ = ["ALWAYS_CLOUD", "ALWAYS_LOCAL"]


def _always(side: Side) -> Decide:
    def choose(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
        return Decision(side, f"control: always-{side}", 1.0)
    return choose


ALWAYS_LOCAL = Strategy("always-local", _always("local"), sides=("local",))
ALWAYS_CLOUD = Strategy("always-cloud", _always("cloud"), sides=("cloud",))

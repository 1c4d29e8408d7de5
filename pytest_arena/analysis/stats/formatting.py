"""How numbers are written in tables and reasons (one place, so every report agrees)."""
from __future__ import annotations

from pytest_arena.analysis.stats.intervals import Interval


def usd(value: float | None) -> str:
    """Dollars with enough digits to tell small per-task costs apart."""
    if value is None:
        return "–"
    if value == 0:
        return "$0"
    magnitude = abs(value)
    digits = 6 if magnitude < 1e-4 else 5 if magnitude < 1e-2 else 4 if magnitude < 1 else 2
    return f"${value:.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def pass_with_ci(rate: Interval) -> str:
    """A pass rate with its 95% CI in whole percent, e.g. 96.0% [88, 100]."""
    if rate.point is None:
        return "–"
    if rate.lower is None or rate.upper is None:
        return percent(rate.point)
    return f"{percent(rate.point)} [{100 * rate.lower:.0f}, {100 * rate.upper:.0f}]"

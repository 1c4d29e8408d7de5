"""Deterministic topological sorting with cycle detection."""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping


class CycleError(ValueError):
    """The graph has a cycle; ``cycle`` holds it (first node repeated at the end)."""

    def __init__(self, cycle: list[Hashable]) -> None:
        raise NotImplementedError


def toposort(graph: Mapping[Hashable, Iterable[Hashable]]) -> list[Hashable]:
    raise NotImplementedError


def toposort_layers(graph: Mapping[Hashable, Iterable[Hashable]]) -> list[list[Hashable]]:
    raise NotImplementedError


def detect_cycle(graph: Mapping[Hashable, Iterable[Hashable]]) -> list[Hashable] | None:
    raise NotImplementedError

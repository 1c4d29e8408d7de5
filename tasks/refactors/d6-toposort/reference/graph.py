"""Deterministic topological sorting with cycle detection."""
from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping


class CycleError(ValueError):
    """The graph has a cycle; ``cycle`` holds it (first node repeated at the end)."""

    def __init__(self, cycle: list[Hashable]) -> None:
        self.cycle = list(cycle)
        super().__init__("cycle: " + " -> ".join(str(node) for node in self.cycle))


def _dependencies(graph: Mapping[Hashable, Iterable[Hashable]]) -> dict[Hashable, set[Hashable]]:
    """A fresh node -> set-of-dependencies map that also holds dependency-only nodes."""
    deps: dict[Hashable, set[Hashable]] = {}
    for node, requires in graph.items():
        if isinstance(requires, (str, bytes)):
            raise TypeError(
                f"dependencies of {node!r} must be a collection of nodes, not {type(requires).__name__}"
            )
        required = set(requires)
        deps.setdefault(node, set()).update(required)
        for dep in required:
            deps.setdefault(dep, set())
    return deps


def _dependents_and_counts(deps: dict[Hashable, set[Hashable]]):
    dependents: dict[Hashable, list[Hashable]] = {node: [] for node in deps}
    for node, required in deps.items():
        for dep in required:
            dependents[dep].append(node)
    waiting = {node: len(required) for node, required in deps.items()}
    return dependents, waiting


def toposort(graph: Mapping[Hashable, Iterable[Hashable]]) -> list[Hashable]:
    deps = _dependencies(graph)
    dependents, waiting = _dependents_and_counts(deps)
    ready = [node for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Hashable] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents[node]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(order) < len(deps):
        raise CycleError(detect_cycle(graph))
    return order


def toposort_layers(graph: Mapping[Hashable, Iterable[Hashable]]) -> list[list[Hashable]]:
    deps = _dependencies(graph)
    dependents, waiting = _dependents_and_counts(deps)
    layer = sorted(node for node, count in waiting.items() if count == 0)
    layers: list[list[Hashable]] = []
    placed = 0
    while layer:
        layers.append(layer)
        placed += len(layer)
        following = []
        for node in layer:
            for dependent in dependents[node]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    following.append(dependent)
        layer = sorted(following)
    if placed < len(deps):
        raise CycleError(detect_cycle(graph))
    return layers


def detect_cycle(graph: Mapping[Hashable, Iterable[Hashable]]) -> list[Hashable] | None:
    deps = _dependencies(graph)
    ordered = {node: sorted(required) for node, required in deps.items()}
    done: set[Hashable] = set()
    for start in sorted(deps):
        if start in done:
            continue
        # Iterative DFS: the path and, per path entry, an iterator over its dependencies.
        path = [start]
        on_path = {start}
        iterators = [iter(ordered[start])]
        while iterators:
            dep = next(iterators[-1], _EXHAUSTED)
            if dep is _EXHAUSTED:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                iterators.pop()
            elif dep in on_path:
                return path[path.index(dep):] + [dep]
            elif dep not in done:
                path.append(dep)
                on_path.add(dep)
                iterators.append(iter(ordered[dep]))
    return None


_EXHAUSTED = object()

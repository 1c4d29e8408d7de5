"""The import graph of a source tree, read with ``ast`` (nothing is imported): every ``import`` and
``from … import`` of the tree's own modules, at module level or inside a function or an
``if TYPE_CHECKING:`` block alike, since each is a dependency a reader has to follow.

``python -m tests.core.import_graph ROOTNAME=PATH ...`` prints the figures of any tree (the
closing note's before and after came from it)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROUTER = "pytest_arena.router"  # installed from the repository's router/ folder

Graph = dict[str, set[str]]


def _module_names(roots: dict[str, Path]) -> dict[str, tuple[Path, bool]]:
    names = {}
    for name, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [name, *path.relative_to(folder).with_suffix("").parts]
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            names[".".join(parts)] = (path, is_package)
    return names


def source_graph(roots: dict[str, Path]) -> Graph:
    """Module name → the tree's modules it imports."""
    modules = _module_names(roots)

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: Graph = {}
    for module, (path, is_package) in modules.items():
        package = module if is_package else module.rpartition(".")[0]
        targets = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found = [ours(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found = [ours(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else ours(base)
                         for alias in node.names]
            else:
                continue
            targets.update(t for t in found if t and t != module)
    return graph


def circles(graph: Graph) -> list[list[str]]:
    """Groups of modules that reach each other through imports (strongly connected, more than
    one module), each sorted, the list sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return sorted(found)


def floors(graph: Graph) -> tuple[int, list[str]]:
    """The longest chain of imports, counted in modules, circles folded into one floor each."""
    component = {m: m for m in graph}
    for group in circles(graph):
        for member in group:
            component[member] = group[0]
    dag: Graph = {}
    for module, targets in graph.items():
        dag.setdefault(component[module], set()).update(component[t] for t in targets
                                                        if component[t] != component[module])
    best: dict[str, list[str]] = {}

    def chain(node: str) -> list[str]:
        if node not in best:
            best[node] = []  # folded circles make the condensed graph acyclic
            longest = max((chain(t) for t in sorted(dag.get(node, ()))), key=len, default=[])
            best[node] = [node, *longest]
        return best[node]

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    deepest = max((chain(m) for m in sorted(dag)), key=len, default=[])
    return len(deepest), deepest


def package_dirs(root: Path) -> set[str]:
    """The packages a wheel built from ``root`` must list: every folder holding an ``__init__.py``."""
    names = {".".join(p.parent.relative_to(root).parts) for p in (root / "pytest_arena").rglob("__init__.py")}
    names |= {".".join([ROUTER, *p.parent.relative_to(root / "router").parts])
              for p in (root / "router").rglob("__init__.py")}
    return names


if __name__ == "__main__":
    roots = dict(arg.split("=", 1) for arg in sys.argv[1:])
    g = source_graph({name: Path(path) for name, path in roots.items()})
    depth, deepest = floors(g)
    print(f"{len(g)} modules, {sum(map(len, g.values()))} import edges, {depth} floors")
    for group in circles(g):
        print("circle: " + " ↔ ".join(group))
    print("deepest chain: " + " → ".join(deepest))

"""The sandbox kinds by name: the one registry the runner, the scorer, the config and the reports read.

A kind serves agents (``sandbox.agents`` may name it), scoring (``auto`` may choose it for the
acceptance tests), or both. ``auto`` is the strongest available scoring kind (``Guarantees.strength``;
ties go to the kind registered first); the config's default for agents is the strongest built-in
agent kind. The built-ins are registered at the bottom; a project adds its own with
``register_sandbox_kind`` from a conftest.py or from the module of an installed pytest plugin (see
docs/howto/add-a-sandbox-kind.md).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from pytest_arena.errors import ConfigError
from pytest_arena.sandbox.base import Availability, SandboxKind

__all__ = [
    "Role",
    "UnknownSandboxKind",
    "auto_sandbox_kind",
    "availability",
    "check_sandbox_kind",
    "forget_availability",
    "get_sandbox_kind",
    "isolates",
    "preferred_kind",
    "register_sandbox_kind",
    "sandbox_kinds",
]


Role = Literal["agents", "scoring"]  # what a kind serves: sandbox.agents may name it / auto may choose it


class UnknownSandboxKind(ConfigError):
    """A name no registered kind has."""


@dataclass(frozen=True)
class _Entry:
    kind: SandboxKind
    agents: bool
    scoring: bool
    builtin: bool

    def serves(self, role: Role) -> bool:
        return self.agents if role == "agents" else self.scoring


_entries: dict[str, _Entry] = {}
_available: dict[str, Availability] = {}


def register_sandbox_kind(kind: SandboxKind, *, agents: bool = False, scoring: bool = False) -> SandboxKind:
    """Add (or replace) ``kind`` under its name; returns it. ``agents``: ``sandbox.agents`` may
    name it; ``scoring``: ``auto`` may choose it for the acceptance tests. A kind replacing a
    built-in keeps its place among the built-ins (the config's default stays its name)."""
    replaced = _entries.get(kind.name)
    return _add(kind, agents=agents, scoring=scoring, builtin=replaced is not None and replaced.builtin)


def _add(kind: SandboxKind, *, agents: bool, scoring: bool, builtin: bool) -> SandboxKind:
    _entries[kind.name] = _Entry(kind=kind, agents=agents, scoring=scoring, builtin=builtin)
    _available.pop(kind.name, None)
    return kind


def sandbox_kinds(role: Role | None = None) -> list[SandboxKind]:
    """Every registered kind (or those serving ``role``: "agents" or "scoring"), built-ins first."""
    return [e.kind for e in _entries.values() if role is None or e.serves(role)]


def check_sandbox_kind(name: str, role: Role | None = None) -> str:
    """``name`` when a kind (serving ``role``) is registered under it; ValueError naming the known
    ones otherwise."""
    known = [k.name for k in sandbox_kinds(role)]
    if name in known:
        return name
    what = f"sandbox kind for {role}" if role else "sandbox kind"
    hint = difflib.get_close_matches(str(name), known, n=1)
    raise ValueError(f"unknown {what} {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                     + f" (known: {', '.join(known)}; a conftest.py can add one with register_sandbox_kind)")


def get_sandbox_kind(name: str) -> SandboxKind:
    try:
        return _entries[check_sandbox_kind(name)].kind
    except ValueError as exc:
        raise UnknownSandboxKind(str(exc)) from None


def availability(name: str) -> Availability:
    """Whether the kind works here, asked once per process (a probe may start a process)."""
    if name not in _available:
        _available[name] = get_sandbox_kind(name).available()
    return _available[name]


def forget_availability() -> None:
    """Ask every kind again (after installing one, or in tests that change PATH)."""
    _available.clear()


def auto_sandbox_kind() -> SandboxKind:
    """The strongest scoring kind that works here (ties: the one registered first)."""
    candidates = sorted(sandbox_kinds("scoring"), key=lambda k: -k.guarantees.strength)
    for kind in candidates:
        if availability(kind.name):
            return kind
    raise UnknownSandboxKind("no sandbox kind for scoring works here: "
                             + "; ".join(f"{k.title} {availability(k.name).reason}" for k in candidates))


def preferred_kind(role: Role) -> SandboxKind:
    """The strongest built-in kind serving ``role``: the config's default for agents, and the
    kind a fallback warning asks the user to install."""
    builtins = [e.kind for e in _entries.values() if e.builtin and e.serves(role)]
    return max(builtins, key=lambda k: k.guarantees.strength)  # max keeps the first of equals


def isolates(name: str) -> bool:
    """Whether what ran under ``name`` (a row's sandbox.agent / sandbox.scoring) had its files and
    network walled off, as that kind states; a name no kind has here does not."""
    entry = _entries.get(name)
    return entry is not None and entry.kind.guarantees.isolates


def _register_builtins() -> None:
    from pytest_arena.sandbox.bubblewrap import BubblewrapKind
    from pytest_arena.sandbox.plain import NoneKind, SubprocessKind
    from pytest_arena.sandbox.unshare import UnshareKind

    _add(BubblewrapKind(), agents=True, scoring=True, builtin=True)
    _add(UnshareKind(), agents=False, scoring=True, builtin=True)  # no router link: acceptance tests only
    _add(SubprocessKind(), agents=False, scoring=True, builtin=True)
    _add(NoneKind(), agents=True, scoring=False, builtin=True)  # sandbox.agents=none: no walls, no caps


_register_builtins()

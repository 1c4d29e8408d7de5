"""The sandbox kinds by name: the one registry the runner, the scorer, the config and the reports read.

A kind serves agents (``sandbox.agents`` may name it), scoring (``sandbox.scoring`` may name it and
``auto`` may choose it for the acceptance tests), or both. ``auto``, the default of both settings, is
the strongest kind available here serving that role (``Guarantees.strength``; ties go to the kind
registered first); for agents only among kinds that wall off files and network (never ``none``,
which a config names to opt out). The built-ins are registered at the bottom; a project adds its
own with ``register_sandbox_kind`` from a conftest.py or from the module of an installed pytest
plugin (see docs/howto/add-a-sandbox-kind.md).
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pytest_arena.errors import ArenaError, ConfigError
from pytest_arena.sandbox.base import Availability, Guarantees, SandboxKind

__all__ = [
    "AUTO",
    "FIELDS",
    "Role",
    "SandboxUnavailable",
    "UnknownSandboxKind",
    "auto_sandbox_kind",
    "availability",
    "check_sandbox_kind",
    "forget_availability",
    "get_sandbox_kind",
    "isolates",
    "preferred_kind",
    "register_sandbox_kind",
    "resolve_sandbox_kind",
    "sandbox_kinds",
]


Role = Literal["agents", "scoring"]  # what a kind serves: sandbox.agents / sandbox.scoring may name it
AUTO = "auto"  # the setting that picks the strongest kind available here
FIELDS: dict[str, str] = {"agents": "sandbox.agents", "scoring": "sandbox.scoring"}  # the config field per role


class UnknownSandboxKind(ConfigError):
    """A name no registered kind has."""


class SandboxUnavailable(ArenaError):
    """The kind a setting names (or every kind ``auto`` could pick) cannot run on this machine."""


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


def check_sandbox_kind(name: str, role: Role | None = None, *, allow_auto: bool = False) -> str:
    """``name`` when a kind (serving ``role``) is registered under it (or it is ``auto`` and
    ``allow_auto``); ValueError naming the known ones otherwise."""
    known = ([AUTO] if allow_auto else []) + [k.name for k in sandbox_kinds(role)]
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


def _auto_candidates(role: Role) -> list[SandboxKind]:
    """What ``auto`` may pick for ``role``, strongest first (ties: the one registered first). For
    agents only kinds that wall off files and network and carry a router link: ``none`` and the
    like are opt-outs a config names, never a default."""
    def fit(g: Guarantees) -> bool:
        return role == "scoring" or (g.isolates and g.router_link != "absent")

    return sorted((k for k in sandbox_kinds(role) if fit(k.guarantees)), key=lambda k: -k.guarantees.strength)


def _missing(kind: SandboxKind) -> str:
    """"bubblewrap is not installed (apt-get install bubblewrap)": a kind that does not work here."""
    reason = availability(kind.name).reason
    hint = f" ({kind.install_hint})" if kind.install_hint and kind.install_hint not in reason else ""
    return f"{kind.title} {reason}{hint}"


def auto_sandbox_kind(role: Role = "scoring") -> SandboxKind:
    """The strongest kind serving ``role`` that works here (``_auto_candidates``)."""
    candidates = _auto_candidates(role)
    for kind in candidates:
        if availability(kind.name):
            return kind
    if role == "scoring":
        raise UnknownSandboxKind("no sandbox kind for scoring works here: "
                                 + "; ".join(f"{k.title} {availability(k.name).reason}" for k in candidates))
    raise SandboxUnavailable(
        f"agents run only inside a sandbox that walls off files and network, and none works here: "
        f"{'; '.join(map(_missing, candidates)) or 'no such kind is registered'}. "
        f"Install one, or opt out with --arena-set sandbox.agents=none "
        "(rows then record sandbox.agent='none' and the reports mark those cells)")


def resolve_sandbox_kind(setting: str, role: Role, where: str = "") -> SandboxKind:
    """The kind a ``sandbox.agents`` / ``sandbox.scoring`` setting means on this machine: ``auto``
    the strongest available (``auto_sandbox_kind``), a name that kind. SandboxUnavailable (one line,
    naming the config file ``where``, the field, the install step and the other choices) when it
    cannot run here."""
    if setting == AUTO:
        return auto_sandbox_kind(role)
    kind = get_sandbox_kind(setting)
    found = availability(kind.name)
    if found:
        return kind
    others = [AUTO, *(k.name for k in sandbox_kinds(role) if k.name != kind.name)]
    prefix = f"{where}: " if where else ""
    raise SandboxUnavailable(
        f"{prefix}field '{FIELDS[role]}': {kind.name} does not work here: {_missing(kind)}; "
        f"or choose another kind for {FIELDS[role]} ({', '.join(others)})")


def preferred_kind(role: Role) -> SandboxKind:
    """The strongest built-in kind serving ``role``: the kind a fallback warning asks the user to
    install (``auto`` picks among the kinds that work here: ``auto_sandbox_kind``)."""
    builtins = [e.kind for e in _entries.values() if e.builtin and e.serves(role)]
    return max(builtins, key=lambda k: k.guarantees.strength)  # max keeps the first of equals


def isolates(name: str, held: Mapping[str, object] | None = None) -> bool:
    """Whether what ran under ``name`` (a row's sandbox.agent / sandbox.scoring) had its files and
    network walled off: as the row recorded it (``held``: its sandbox_guarantees entry), else as
    that kind states here; a name no kind has here, recorded nowhere, does not."""
    if held and "files" in held and "network" in held:
        return held["files"] == "hard" and held["network"] == "hard"
    entry = _entries.get(name)
    return entry is not None and entry.kind.guarantees.isolates


def _register_builtins() -> None:
    from pytest_arena.sandbox.bubblewrap import BubblewrapKind
    from pytest_arena.sandbox.container import ContainerKind
    from pytest_arena.sandbox.plain import NoneKind, SubprocessKind
    from pytest_arena.sandbox.seatbelt import SeatbeltKind
    from pytest_arena.sandbox.unshare import UnshareKind

    _add(BubblewrapKind(), agents=True, scoring=True, builtin=True)
    _add(SeatbeltKind(), agents=True, scoring=True, builtin=True)  # macOS sandbox-exec
    _add(UnshareKind(), agents=False, scoring=True, builtin=True)  # no router link: acceptance tests only
    _add(SubprocessKind(), agents=False, scoring=True, builtin=True)
    _add(NoneKind(), agents=True, scoring=False, builtin=True)  # sandbox.agents=none: no walls, no caps
    _add(ContainerKind(), agents=True, scoring=True, builtin=False)  # opt-in: where setup built its image


_register_builtins()

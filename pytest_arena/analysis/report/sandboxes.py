"""The sandboxes a report's runs ran in: one line per kind in use (where: agent or tests; the
kind, its version, each wall's level as it held, whether its self-check cleared it, and how many
runs), so a reader tells a Seatbelt cell from a bubblewrap cell.

A row that records the walls that held (``sandbox_guarantees``, pytest_arena/cell/rows.py) is read
as recorded. An older row records only the kind's name: its walls are shown as that kind states
them on the machine writing the report, marked ``*`` (or ``?`` when no kind has that name here).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pytest_arena.sandbox.base import WALLS

__all__ = ["SANDBOX_HEADERS", "SANDBOX_NOTE", "sandbox_rows"]

SANDBOX_HEADERS = ["where", "kind", "version", "files", "network", "router link", "memory", "processes",
                   "wall time", "self-check", "runs"]
SANDBOX_NOTE = ("Each wall as it held where the cells ran: hard (the kernel enforces it on everything the "
                "command starts), soft (enforced, but escapable by a determined command) or absent; self-check: "
                "the kind's conformance probe on that machine cleared it (docs/sandboxes.md). * a row from before "
                "rows recorded the walls: as the kind states them on the machine writing this report; ? no kind "
                "of that name here.")
_ROLES = (("agent", "agent", "not started"), ("scoring", "tests", "not run"))


def _stated(name: str) -> list[str]:
    """An old row's walls: as the kind of that name states them here (marked), else unknown."""
    from pytest_arena.sandbox.kinds import UnknownSandboxKind, get_sandbox_kind

    try:
        guarantees = get_sandbox_kind(name).guarantees.as_dict()
    except UnknownSandboxKind:
        return ["?"] * len(WALLS)
    return [f"{guarantees[wall]}*" for wall in WALLS]


def sandbox_rows(rows: Iterable[dict[str, Any]]) -> list[list[str]]:
    """One line per (where, kind, version, walls, self-check) among ``rows``, with its run count."""
    counts: Counter[tuple[str, ...]] = Counter()
    for row in rows:
        box = row.get("sandbox")
        if not isinstance(box, dict):
            continue  # the original project's rows (and ours before the field) name no sandbox
        held = row.get("sandbox_guarantees")
        held = held if isinstance(held, dict) else {}
        for role, where, nothing in _ROLES:
            name = box.get(role)
            if not isinstance(name, str) or name == nothing:
                continue
            record = held.get(role)
            if isinstance(record, dict) and all(isinstance(record.get(wall), str) for wall in WALLS):
                key = (where, name, str(record.get("version") or "–"), *(str(record[wall]) for wall in WALLS),
                       "passed" if record.get("selfcheck") else "not run")
            else:
                key = (where, name, "not recorded", *_stated(name), "not recorded")
            counts[key] += 1
    return [[*key, str(n)] for key, n in sorted(counts.items())]

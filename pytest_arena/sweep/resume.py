"""``--arena-resume``: which cells keep their row and which run again, and the one line that says so.

A cell is skipped when its latest row is a measurement (any outcome but ``infra_error``) taken
under the settings the cell has now: the row's ``measured_sha`` equals the cell's (or, for rows
written before ``measured_sha`` existed, the row's whole-config ``config_sha`` equals the
config's), and by the agent version installed now (the row's ``agent_version``: upgrading an
agent between two sessions re-runs its cells instead of mixing versions in one result). Any other
row is left in raw.jsonl, superseded by the new one. The measured settings of every sha are kept
in ``settings/<sha>.json`` of the results folder, so the message can name what changed.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pytest_arena.cell.results import ResultsStore
from pytest_arena.sweep.cells import Cell
from pytest_arena.sweep.measured import changed_fields

SETTINGS_DIR = "settings"


class Sweep(Protocol):
    """What resuming reads of a sweep (an ``ArenaSession`` is one; this module does not import it)."""

    cells: list[Cell]
    store: ResultsStore
    install_root: Path

    @property
    def out_dir(self) -> Path: ...

    @property
    def config_sha(self) -> str: ...

    def measured_sha(self, cell: Cell) -> str: ...

    def measured_settings(self, cell: Cell) -> dict[str, Any]: ...


@dataclass
class ResumePlan:
    finished: dict[str, str] = field(default_factory=dict)  # cell key -> outcome of its row: skipped
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # cell key -> (row's sha, cell's sha): re-run
    # cell key -> (agent, the row's version, the version installed now): re-run
    upgraded: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def messages(self, out_dir: Path) -> list[str]:
        lines = []
        if self.changed:
            pairs = Counter(self.changed.values())
            (old, new), _ = pairs.most_common(1)[0]
            shas = (f"measured-settings sha {old[:12]} → {new[:12]}"
                    + (f" and {len(pairs) - 1} more" if len(pairs) > 1 else ""))
            what = _what_changed(out_dir, pairs)
            lines.append(f"resume: {_cells_have(len(self.changed))} rows with other measured settings "
                         f"({shas}{': ' + what if what else ''}); re-running them")
        if self.upgraded:
            versions = Counter(self.upgraded.values())
            named = ", ".join(f"{agent} {was} → {now}" for (agent, was, now), _ in versions.most_common(3))
            more = f" and {len(versions) - 3} more" if len(versions) > 3 else ""
            lines.append(f"resume: {_cells_have(len(self.upgraded))} rows from another agent version "
                         f"({named}{more}); re-running them")
        return lines


def _cells_have(n: int) -> str:
    return f"{n} cell{'s' if n != 1 else ''} ha{'ve' if n != 1 else 's'}"


def _what_changed(out_dir: Path, pairs: Counter) -> str:
    """The differing settings, from the settings files of the shas (when both are kept)."""
    found: list[str] = []
    for old, new in pairs:
        before, after = read_settings(out_dir, old), read_settings(out_dir, new)
        if before is None or after is None:
            continue
        for line in changed_fields(before, after):
            if line not in found:
                found.append(line)
    return "; ".join(found[:4]) + (f"; and {len(found) - 4} more" if len(found) > 4 else "")


def settings_path(out_dir: Path, sha: str) -> Path:
    return out_dir / SETTINGS_DIR / f"{sha[:16]}.json"


def read_settings(out_dir: Path, sha: str) -> dict | None:
    try:
        return json.loads(settings_path(out_dir, sha).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_settings(session: Sweep) -> None:
    """Keep each distinct measured-settings blob of this session's cells (once per sha)."""
    for cell in session.cells:
        path = settings_path(session.out_dir, session.measured_sha(cell))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(session.measured_settings(cell), indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")


def plan_resume(session: Sweep) -> ResumePlan:
    from pytest_arena.agents.registry import get_agent

    latest = session.store.latest_rows()
    plan = ResumePlan()
    installed: dict[str, str | None] = {}
    for cell in session.cells:
        row = latest.get(cell.key)
        if row is None or not row.get("outcome") or row["outcome"] == "infra_error":
            continue
        sha = session.measured_sha(cell)
        if not (row.get("measured_sha") == sha
                or (row.get("measured_sha") is None and row.get("config_sha") == session.config_sha)):
            plan.changed[cell.key] = (str(row.get("measured_sha") or row.get("config_sha") or "none"), sha)
            continue
        if cell.agent not in installed:  # one small file read per agent
            installed[cell.agent] = get_agent(cell.agent).version(session.install_root)
        was, now = row.get("agent_version"), installed[cell.agent]
        if was and was != "unknown" and now is not None and was != now:
            plan.upgraded[cell.key] = (cell.agent, str(was), now)
        else:  # an agent missing now is reported once at collection, and its cells fail there
            plan.finished[cell.key] = row["outcome"]
    return plan

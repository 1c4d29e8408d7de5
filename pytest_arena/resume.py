"""``--arena-resume``: which cells keep their row and which run again, and the one line that says so.

A cell is skipped when its latest row is a measurement (any outcome but ``infra_error``) taken
under the settings the cell has now: the row's ``measured_sha`` equals the cell's (or, for rows
written before ``measured_sha`` existed, the row's whole-config ``config_sha`` equals the
config's). Any other row is left in raw.jsonl, superseded by the new one. The measured settings
of every sha are kept in ``settings/<sha>.json`` of the results folder, so the message can name
what changed.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .measured import changed_fields

if TYPE_CHECKING:
    from .session import ArenaSession

SETTINGS_DIR = "settings"


@dataclass
class ResumePlan:
    finished: dict[str, str] = field(default_factory=dict)  # cell key -> outcome of its row: skipped
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # cell key -> (row's sha, cell's sha): re-run

    def message(self, out_dir: Path) -> str | None:
        if not self.changed:
            return None
        pairs = Counter(self.changed.values())
        (old, new), _ = pairs.most_common(1)[0]
        shas = f"measured-settings sha {old[:12]} → {new[:12]}" + (f" and {len(pairs) - 1} more" if len(pairs) > 1 else "")
        what = _what_changed(out_dir, pairs)
        n = len(self.changed)
        return (f"resume: {n} cell{'s' if n != 1 else ''} ha{'ve' if n != 1 else 's'} rows with other measured "
                f"settings ({shas}{': ' + what if what else ''}); re-running them")


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


def write_settings(session: "ArenaSession") -> None:
    """Keep each distinct measured-settings blob of this session's cells (once per sha)."""
    for cell in session.cells:
        path = settings_path(session.out_dir, session.measured_sha(cell))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(session.measured_settings(cell), indent=1, sort_keys=True) + "\n",
                            encoding="utf-8")


def plan_resume(session: "ArenaSession") -> ResumePlan:
    latest = session.store.latest_rows()
    plan = ResumePlan()
    for cell in session.cells:
        row = latest.get(cell.key)
        if row is None or not row.get("outcome") or row["outcome"] == "infra_error":
            continue
        sha = session.measured_sha(cell)
        if row.get("measured_sha") == sha or (row.get("measured_sha") is None and row.get("config_sha") == session.config_sha):
            plan.finished[cell.key] = row["outcome"]
        else:
            plan.changed[cell.key] = (str(row.get("measured_sha") or row.get("config_sha") or "none"), sha)
    return plan

"""The config's generated documentation: the config reference of ``docs/reference/config.md`` (one row
per leaf field: its dotted path, default and description) and ``configs/schema.json`` (for editors that
complete and check a sweep YAML). Both come from the schema's models, so they cannot drift from it;
``python -m pytest_arena schema`` writes them (``docgen/reference.py``) and ``schema --check`` fails CI
when they are stale.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from pytest_arena.sweep.config.schema import ArenaConfig, section_model

__all__ = ["reference_markdown", "schema_text", "write_schema"]


def _leaf_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(dotted path, default as Markdown, description) of every leaf field, sections walked in order."""
    for name, field in model.model_fields.items():
        sub = section_model(field.annotation)
        if sub is not None:
            yield from _leaf_fields(sub, f"{prefix}{name}.")
            continue
        if field.is_required():
            default = "required"
        else:
            default = "`" + json.dumps(field.get_default(call_default_factory=True)) + "`"
        yield f"{prefix}{name}", default, field.description or ""


def reference_markdown() -> str:
    """The config reference table, generated from the model (so it cannot drift)."""
    lines = ["| field | default | meaning |", "|---|---|---|"]
    for path, default, description in _leaf_fields(ArenaConfig):
        lines.append(f"| `{path}` | {default} | {description.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def schema_text() -> str:
    """``configs/schema.json``: the config's JSON schema, keys sorted so that a regeneration diffs cleanly."""
    return json.dumps(ArenaConfig.model_json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path) -> None:
    path.write_text(schema_text(), encoding="utf-8")

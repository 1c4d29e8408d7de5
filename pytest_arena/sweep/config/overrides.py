"""``--arena-set key=value``: one config field set from the command line (pytest, ``plan``,
``router --config``), its text typed by the schema's annotation of that field.

Apart from the loader because it is the one place that reads the schema's annotations instead of
validating with them: a str field keeps the text, a list field splits on commas, the rest is YAML.
The value lands in the raw mapping before validation, so a wrong one gets the loader's message.
"""
from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from pytest_arena.errors import ConfigError
from pytest_arena.sweep.config.schema import ArenaConfig, section_model

__all__ = ["apply_override"]


def apply_override(raw: dict[str, Any], item: str, path: Path) -> None:
    """``a.b.c=value`` typed by the schema: str fields keep the text as is, list fields split on
    commas (one item stays a one-item list), everything else is parsed as YAML."""
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--arena-set {item!r}: use KEY=VALUE, e.g. --arena-set benchmark.seeds=42,7.")
    parts = key.split(".")
    model: type[BaseModel] | None = ArenaConfig
    annotation: Any = None
    dict_key: str | None = None
    for i, part in enumerate(parts):
        if model is None:
            # inside a free-form dict: the rest of the path is one key (router.params.heuristic.threshold)
            dict_key, annotation = ".".join(parts[i:]), Any
            break
        field = model.model_fields.get(part)
        if field is None:
            known = sorted(model.model_fields)
            hint = difflib.get_close_matches(part, known, n=1)
            raise ConfigError(
                f"--arena-set {item!r}: unknown field '{'.'.join(parts[: i + 1])}'"
                + (f"; did you mean '{'.'.join(parts[:i] + [hint[0]])}'?" if hint else f"; known: {', '.join(known)}"))
        annotation = field.annotation
        model = section_model(annotation) if i < len(parts) - 1 else None
        if model is None and i < len(parts) - 1 and not _is_dict(annotation):
            raise ConfigError(f"--arena-set {item!r}: '{'.'.join(parts[: i + 1])}' is not a section.")
    value = _coerce(text, annotation)
    if dict_key is not None:
        parts = parts[: len(parts) - len(dict_key.split("."))] + [dict_key]
    node = raw
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def _is_dict(annotation: Any) -> bool:
    return typing.get_origin(annotation) is dict or any(_is_dict(a) for a in typing.get_args(annotation))


def _accepts(annotation: Any, kind: Any) -> bool:
    if annotation is kind:
        return True
    origin = typing.get_origin(annotation)
    if origin is kind:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, kind) for a in typing.get_args(annotation))
    return False


def _coerce(text: str, annotation: Any) -> Any:
    stripped = text.strip()
    if stripped.lower() in ("null", "none", "~") and _accepts(annotation, type(None)):
        return None
    if _accepts(annotation, list) and not stripped.startswith("["):
        if _accepts(annotation, str) and "," not in stripped:
            return stripped  # e.g. models.local: one model, not a list
        items = [s.strip() for s in stripped.split(",") if s.strip()]
        args = [a for a in typing.get_args(annotation) if typing.get_origin(a) is list] or [annotation]
        inner = typing.get_args(args[0])
        if inner and inner[0] is int:
            try:
                return [int(s) for s in items]
            except ValueError:
                return items  # let validation name the bad item
        return items
    if annotation is str or (_accepts(annotation, str) and not _accepts(annotation, list)):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text

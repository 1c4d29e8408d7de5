"""Loading a sweep config: read the YAML, substitute ``${ENV:NAME}``, apply the ``--arena-set``
overrides, validate against the schema.

Loading never raises a traceback at a user: every problem becomes one ``ConfigError`` naming the
file, the field and the fix (an unknown field gets the closest known name as a hint).
"""
from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pytest_arena.errors import ConfigError
from pytest_arena.sweep.config.overrides import apply_override
from pytest_arena.sweep.config.schema import ArenaConfig, section_model
from pytest_arena.yamlfile import read_yaml

__all__ = ["load_config"]

_ENV_PATTERN = re.compile(r"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}")


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ArenaConfig:
    """Read, substitute ${ENV:NAME}, apply ``key=value`` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Check the --arena-config path.")
    raw = read_yaml(path, ConfigError)
    if raw is None:
        raise ConfigError(f"{path}: the config is empty. It needs at least variant_tag, out_dir and models.")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (variant_tag: ..., models: ...), "
                          f"not a {type(raw).__name__}.")
    raw = _substitute_env(raw, path)
    for item in overrides:
        apply_override(raw, item, path)
    try:
        return ArenaConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None


def _substitute_env(value: Any, path: Path, where: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _substitute_env(v, path, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, path, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{path}: field '{where}': environment variable {name} is not set; "
                                  f"export it or remove ${{ENV:{name}}}.")
            return os.environ[name]
        return _ENV_PATTERN.sub(repl, value)
    return value


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            parent = _model_at(ArenaConfig, [p for p in err["loc"][:-1] if isinstance(p, str)])
            known = sorted(parent.model_fields) if parent else []
            hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            msg = "unknown field" + (f"; did you mean '{hint[0]}'?" if hint else f"; known fields: {', '.join(known)}")
        elif err["type"] == "missing":
            msg = "required field is missing; add it"
        elif err["type"] == "literal_error":
            msg = f"{msg} (got {err.get('input')!r})"
        elif "input" in err and err["type"] not in ("value_error",):
            msg = f"{msg} (got {err['input']!r})"
        if err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            if not loc:
                lines.append(msg)  # whole-config checks name their own field
                continue
        lines.append(f"field '{loc or '(top level)'}': {msg}")
    more = "" if len(lines) <= 5 else f"; and {len(lines) - 5} more"
    return f"{path}: invalid config: " + "; ".join(lines[:5]) + more


def _model_at(model: type[BaseModel], keys: list[str]) -> type[BaseModel] | None:
    for key in keys:
        field = model.model_fields.get(key)
        if field is None:
            return None
        inner = section_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model

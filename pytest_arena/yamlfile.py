"""Reading the project's YAML files (sweep configs, task.yaml) with one error style."""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from pytest_arena.errors import ArenaError

Model = TypeVar("Model", bound=BaseModel)


def read_yaml(path: Path, error: type[ArenaError]) -> Any:
    """The parsed document; ``error`` naming the file (and line/column) when it cannot be read."""
    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text. Save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}: YAML syntax error{where}: {problem}. Fix the YAML.") from None


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """The dotted field and the message of a pydantic error's first problem (one line for the user)."""
    err = exc.errors()[0]
    return ".".join(str(p) for p in err["loc"]) or "(top level)", err["msg"]


def validate_fields(raw: dict[str, Any], model: type[Model], error: type[ArenaError], where: str,
                    hint: str = "") -> Model:
    """``raw`` validated as ``model``; otherwise one ``error`` line: ``where``, the first bad field
    and its problem, then ``hint``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        field, problem = first_problem(exc)
        raise error(f"{where}: field '{field}': {problem}.{hint}") from None


def read_model(path: Path, model: type[Model], error: type[ArenaError], *, fields: str, hint: str = "") -> Model:
    """A YAML mapping validated as ``model``; one ``error`` line naming the file and the first bad
    field otherwise. ``fields`` names a few expected fields for the not-a-mapping message; ``hint``
    (e.g. " See docs/howto/add-a-task.md.") ends the field message."""
    raw = read_yaml(path, error)
    if not isinstance(raw, dict):
        raise error(f"{path}: must be a mapping of fields ({fields}, ...).")
    return validate_fields(raw, model, error, str(path), hint)

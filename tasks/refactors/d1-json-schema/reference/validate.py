"""Validation of user-creation request bodies."""
from __future__ import annotations

from typing import Any

ALLOWED_FIELDS = ("name", "age")


def _name_error(body: dict) -> str | None:
    if "name" not in body:
        return "is required"
    name = body["name"]
    if not isinstance(name, str):
        return "must be a string"
    if not name.strip():
        return "must not be empty"
    return None


def _age_error(body: dict) -> str | None:
    if "age" not in body:
        return "is required"
    age = body["age"]
    # bool is a subclass of int in Python, but true/false are not ages.
    if isinstance(age, bool) or not isinstance(age, int):
        return "must be an integer"
    if age < 0:
        return "must be >= 0"
    return None


def validate_user(body: Any) -> list[dict]:
    """Every problem with ``body`` as {"field", "error"} dicts; [] when it is valid."""
    if not isinstance(body, dict):
        return [{"field": "body", "error": "must be a JSON object"}]
    errors = []
    for field, check in (("name", _name_error), ("age", _age_error)):
        message = check(body)
        if message is not None:
            errors.append({"field": field, "error": message})
    for field in sorted(key for key in body if key not in ALLOWED_FIELDS):
        errors.append({"field": field, "error": "is not allowed"})
    return errors

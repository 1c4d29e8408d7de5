"""A small text template engine: variables, filters, if/elif/else, for loops, comments."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TemplateError(Exception):
    """A malformed template, or a value that cannot be rendered."""


class Template:
    def __init__(self, source: str) -> None:
        raise NotImplementedError

    def render(self, context: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
        raise NotImplementedError


def render(source: str, context: Mapping[str, Any] | None = None, **kwargs: Any) -> str:
    raise NotImplementedError

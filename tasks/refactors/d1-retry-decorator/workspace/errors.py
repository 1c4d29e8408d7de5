"""Errors raised by the API client."""
from __future__ import annotations


class ApiError(Exception):
    """Any failure talking to the API. ``status`` is the HTTP status, or None without a response."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(ApiError):
    """Worth trying again later: connection failures, 429 and 5xx responses."""


class PermanentError(ApiError):
    """Retrying cannot help: other 4xx responses and malformed bodies."""

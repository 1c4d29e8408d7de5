"""The router's exception hierarchy: every failure a call can meet maps to one class here.

Each class carries the ledger status it stands for and the HTTP status the caller sees, so the
front doors and the ledger never guess. Messages never contain API keys (backends scrub them).
"""
from __future__ import annotations

from pytest_arena.router.contracts import CallStatus


class RouterError(Exception):
    """A call failed; ``status`` goes to the ledger, ``http_status``/``error_type`` to the caller."""

    status: CallStatus = "upstream_error"
    http_status: int = 502
    error_type: str = "upstream_error"

    def __init__(self, message: str, *, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if http_status is not None:
            self.http_status = http_status


class ConfigError(RouterError):
    """A run or backend is configured wrongly (unknown strategy, missing API key variable)."""

    status = "client_error"
    http_status = 400
    error_type = "invalid_request_error"


class ClientRequestError(RouterError):
    """The caller's request is not valid for its protocol (bad JSON, missing messages)."""

    status = "client_error"
    http_status = 400
    error_type = "invalid_request_error"


class UnknownRunError(RouterError):
    status = "client_error"
    http_status = 404
    error_type = "not_found_error"


class BudgetExceededError(RouterError):
    """Refused before a cloud call: a cell or session budget cap is reached.

    402 rather than 429: agents' SDKs retry 429 forever, and this refusal is final.
    """

    status = "budget_exceeded"
    http_status = 402
    error_type = "budget_exceeded"


class RejectedError(RouterError):
    """The call was refused for what it asked: a request over one of the router's bounds (body
    size, message count, calls in flight for its run). Recorded as ``rejected``: the agent's doing,
    counted in the cell's outcome, not an infrastructure failure."""

    status = "rejected"
    http_status = 400
    error_type = "invalid_request_error"


class RequestTooLargeError(RejectedError):
    http_status = 413
    error_type = "request_too_large"


class TooManyInFlightError(RejectedError):
    """More calls of one run in flight than the router admits. 429: agents' SDKs back off and retry."""

    http_status = 429
    error_type = "rate_limit_error"


class UpstreamError(RouterError):
    """The upstream answered with an error status (after retries for 429/5xx)."""

    def __init__(self, message: str, *, upstream_status: int | None = None):
        # Pass 4xx through so the agent sees e.g. a context-length 400; 5xx becomes 502.
        http = upstream_status if upstream_status and 400 <= upstream_status < 500 else 502
        super().__init__(message, http_status=http)
        self.upstream_status = upstream_status


class UpstreamRejectedError(UpstreamError):
    """The provider refused the request's content (HTTP 400, 413 or 422: a prompt over the model's
    context, a malformed tool schema...). The caller sees the provider's status; the ledger says
    ``rejected``, which a cell's outcome counts as the agent's (or model's) failure, not the harness's.
    A 404 (unknown model), 408, 409 or a 429 after retries stays ``upstream_error``: configuration
    or infrastructure."""

    status = "rejected"
    error_type = "invalid_request_error"


class UpstreamAuthError(UpstreamError):
    """401/403 from an upstream: the key is wrong; the session must stop."""

    status = "auth_error"
    error_type = "authentication_error"


class UpstreamConnectionError(UpstreamError):
    """Connection refused or reset, after retries."""


class UpstreamProtocolError(UpstreamError):
    """The upstream's reply could not be parsed (garbage JSON, cut stream)."""


class LocalTimeoutError(RouterError):
    """The local wall-clock guard cut the call (before headers or mid-stream)."""

    status = "timeout"
    http_status = 504
    error_type = "timeout_error"

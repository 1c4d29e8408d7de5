"""A small JSON API client over a pluggable transport."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from errors import PermanentError, TransientError
from transport import urllib_transport

Transport = Callable[[str, str], "tuple[int, bytes]"]


class ApiClient:
    def __init__(self, base_url: str, transport: Transport = urllib_transport) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport

    def fetch_json(self, path: str) -> Any:
        """GET ``path`` and decode the JSON body. Raises TransientError or PermanentError."""
        url = self.base_url + path
        try:
            status, body = self.transport("GET", url)
        except OSError as exc:
            raise TransientError(f"GET {url}: {exc}") from exc
        if status == 429 or status >= 500:
            raise TransientError(f"GET {url}: HTTP {status}", status)
        if status >= 400:
            raise PermanentError(f"GET {url}: HTTP {status}", status)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise PermanentError(f"GET {url}: response is not JSON", status) from exc

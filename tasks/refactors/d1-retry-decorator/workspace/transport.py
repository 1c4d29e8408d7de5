"""The real HTTP transport: (method, url) -> (status, body)."""
from __future__ import annotations

import urllib.error
import urllib.request

TIMEOUT_SECONDS = 10


def urllib_transport(method: str, url: str) -> tuple[int, bytes]:
    """Perform one request. Network failures raise OSError (urllib.error.URLError is one)."""
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()

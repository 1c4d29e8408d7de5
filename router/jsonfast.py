"""JSON encode/decode on the hot path: orjson when installed, the standard library otherwise."""
from __future__ import annotations

from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only without orjson
    _orjson = None

if _orjson is not None:
    loads = _orjson.loads

    def dumps(obj: Any) -> bytes:
        return _orjson.dumps(obj)

    JSONDecodeError = _orjson.JSONDecodeError
else:  # pragma: no cover
    import json as _json

    def loads(data: bytes | str) -> Any:
        return _json.loads(data)

    def dumps(obj: Any) -> bytes:
        return _json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    JSONDecodeError = _json.JSONDecodeError


def dumps_str(obj: Any) -> str:
    return dumps(obj).decode()

"""JSON encode/decode on the hot path: orjson when installed, the standard library otherwise."""
from __future__ import annotations

from types import ModuleType
from typing import Any

_orjson: ModuleType | None
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only without orjson
    _orjson = None

JSONDecodeError: type[ValueError]

if _orjson is not None:
    loads = _orjson.loads
    _orjson_dumps = _orjson.dumps

    def dumps(obj: Any) -> bytes:
        result: bytes = _orjson_dumps(obj)
        return result

    JSONDecodeError = _orjson.JSONDecodeError
else:  # pragma: no cover
    import dataclasses as _dataclasses
    import json as _json

    def loads(data: bytes | str) -> Any:
        return _json.loads(data)

    def _default(obj: Any) -> Any:
        if _dataclasses.is_dataclass(obj):
            return {f.name: getattr(obj, f.name) for f in _dataclasses.fields(obj)}
        raise TypeError(f"cannot serialise {type(obj).__name__}")

    def dumps(obj: Any) -> bytes:
        """Like orjson.dumps: compact UTF-8 bytes; dataclasses become objects in field order."""
        return _json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=_default).encode()

    JSONDecodeError = _json.JSONDecodeError


def dumps_str(obj: Any) -> str:
    return dumps(obj).decode()

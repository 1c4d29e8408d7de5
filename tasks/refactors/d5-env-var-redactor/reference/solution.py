"""Print a JSON settings document with its secret top-level string values redacted."""
from __future__ import annotations

import json
import re
import sys

SECRET_WORDS = {"KEY", "TOKEN", "SECRET", "PASSWORD"}
REDACTED = "[REDACTED]"


def is_secret(name: str) -> bool:
    return any(word.upper() in SECRET_WORDS for word in re.split(r"[_.-]", name))


def main(argv: list[str]) -> int:
    if len(argv) < 1:
        print("usage: python solution.py FILE.json", file=sys.stderr)
        return 2
    path = argv[0]
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"error: cannot read JSON from {path}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(document, dict):
        print(f"error: {path}: the top-level JSON value must be an object", file=sys.stderr)
        return 1
    redacted = {
        name: REDACTED if is_secret(name) and isinstance(value, str) else value
        for name, value in document.items()
    }
    sys.stdout.buffer.write((json.dumps(redacted, indent=2, ensure_ascii=False) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

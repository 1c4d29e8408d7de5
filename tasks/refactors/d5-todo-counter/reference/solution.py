"""Count TODO/FIXME/XXX markers per directory of the .py files under ./tree."""
from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

MARKERS = ("TODO", "FIXME", "XXX")
MARKER = re.compile(r"(?<![A-Za-z0-9_])(TODO|FIXME|XXX)(?![A-Za-z0-9_])")


def main() -> int:
    tree = Path("tree")
    if not tree.is_dir():
        print("error: no tree/ directory here; run from the folder that contains tree/",
              file=sys.stderr)
        return 1
    per_directory: dict[str, Counter] = {}
    for path in tree.rglob("*.py"):
        if not path.is_file():
            continue
        found = Counter(MARKER.findall(path.read_text(encoding="utf-8", errors="replace")))
        if found:
            directory = path.parent.relative_to(tree).as_posix()
            per_directory.setdefault(directory, Counter()).update(found)
    total: Counter = Counter()
    for directory in sorted(per_directory):
        print(f"{directory}: {_format(per_directory[directory])}")
        total.update(per_directory[directory])
    print(f"total: {_format(total)}")
    return 0


def _format(counts: Counter) -> str:
    return " ".join(f"{marker}={counts[marker]}" for marker in MARKERS)


if __name__ == "__main__":
    sys.exit(main())

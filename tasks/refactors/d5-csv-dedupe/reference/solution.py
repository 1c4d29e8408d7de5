"""Read CSV on stdin, keep the header and the first row for each first-column value."""
from __future__ import annotations

import csv
import io
import sys


def main() -> int:
    # newline="" lets the csv module see quoted line breaks and \r\n endings itself.
    source = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="")
    sink = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
    writer = csv.writer(sink, lineterminator="\n")
    seen: set[str] = set()
    dropped = 0
    header_written = False
    for record in csv.reader(source):
        if not record:
            continue
        if not header_written:
            writer.writerow(record)
            header_written = True
        elif record[0] in seen:
            dropped += 1
        else:
            seen.add(record[0])
            writer.writerow(record)
    sink.flush()
    print(f"duplicates dropped: {dropped}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

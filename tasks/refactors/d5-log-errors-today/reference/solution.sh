#!/usr/bin/env bash
# Print today's ERROR lines of the log file given as $1, sorted in byte order.
set -euo pipefail
export LC_ALL=C

if [ "$#" -lt 1 ]; then
    echo "usage: bash solution.sh LOGFILE   (TODAY=YYYY-MM-DD overrides the date)" >&2
    exit 2
fi
log=$1
if [ ! -f "$log" ] || [ ! -r "$log" ]; then
    echo "solution.sh: cannot read log file: $log" >&2
    exit 1
fi
today=${TODAY:-$(date +%F)}

# awk rather than grep: grep exits 1 when nothing matches, and fields must match exactly.
awk -v today="$today" '$1 == today && $3 == "ERROR"' "$log" | sort

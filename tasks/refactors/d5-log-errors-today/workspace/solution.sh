#!/usr/bin/env bash
# Print today's ERROR lines of the log file given as $1, sorted (see the task statement).
echo "solution.sh: not written yet" >&2
exit 1

# The harness's own processes: signal pytest, read its memory maps.
import os
import signal

from probe_common import found, hints, readable, report

hit = []
try:
    os.kill(hints["pytest_pid"], signal.SIGTERM)
    hit.append("signalled pytest")
except OSError:
    pass
if readable(f"/proc/{hints['pytest_pid']}/maps"):
    hit.append("read pytest's memory map")
found["hit"] = hit
report()

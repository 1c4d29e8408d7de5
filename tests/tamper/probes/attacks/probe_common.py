# Imported by every attack: the hints the harness hands the probe, and how it reports. Runs inside
# the cell's agent sandbox; the attack prints one JSON object, what it reached.
import json
import os

hints = json.loads(os.environ.get("ARENA_PROBE_HINTS", "{}"))
found = {}


def readable(path):
    try:
        with open(path, "rb") as f:
            return f.read(1 << 20)
    except OSError:
        return None


def report():
    print(json.dumps(found))

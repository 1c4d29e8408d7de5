# More files than a workspace may hold (config limits.workspace_files) and a file that would be
# larger than any file may grow (RLIMIT_FSIZE in the agent's sandbox), sparse so it costs no disk.
import os

from probe_common import found, report

os.mkdir("many")
for i in range(int(os.environ.get("PROBE_MANY", "0")) or 30_000):
    with open(f"many/{i}", "w"):
        pass
try:
    with open("huge.bin", "wb") as f:
        f.truncate(2 << 30)
    found["huge"] = os.path.getsize("huge.bin")
except OSError as exc:
    found["huge"] = f"refused: {exc.strerror}"
report()

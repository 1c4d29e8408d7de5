# An honest habit that leaves links: `python -m venv` in the workspace (its bin/python is a
# symlink to the interpreter on the host), plus a link to a host file and one to the reference.
import os
import subprocess
import sys

from probe_common import found, hints, report

subprocess.run([sys.executable, "-m", "venv", "--without-pip", ".venv"], check=False)
os.symlink("/etc/passwd", "passwd-link")
os.symlink(hints["reference"], "reference-link")
found["links"] = sorted(os.path.join(root, name) for root, dirs, files in os.walk(".")
                        for name in dirs + files if os.path.islink(os.path.join(root, name)))
report()

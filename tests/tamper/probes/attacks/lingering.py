# A daemon that outlives the agent (a new session, detached): from 1 s on it writes a passing
# solution and a marker into the workspace, for ten seconds, while the harness scores the cell.
# The daemon's code is the payload file beside this script.
import os
import subprocess
import sys

from probe_common import found, hints, report

daemon = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lingering.payload")
tag = "arena-lingering-probe-" + os.path.basename(hints["out_dir"])
subprocess.Popen([sys.executable, daemon, tag, os.getcwd(), hints["module"]], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
found["daemon"] = tag
report()

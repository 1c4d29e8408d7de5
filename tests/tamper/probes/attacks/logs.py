# What the harness reads back or writes after the agent: its own stderr log replaced by a link to
# a secret file on the host (read into the crash reason?), its stdout log by a FIFO (waited on?),
# and the next step's logs planted as a link to a host file (opened w+b and written through?) and
# as a FIFO. It reports through probe.report, as its stdout log is gone.
import os
import sys

from probe_common import found, hints

logs = hints["log_dir"]
os.symlink(hints["victim"], os.path.join(logs, "after.stdout.log"))
os.mkfifo(os.path.join(logs, "after.stderr.log"))
os.unlink(os.path.join(logs, "probe.stderr.log"))
os.symlink(hints["secret"], os.path.join(logs, "probe.stderr.log"))
os.unlink(os.path.join(logs, "probe.stdout.log"))
os.mkfifo(os.path.join(logs, "probe.stdout.log"))
found["planted"] = True
with open(os.path.join(logs, "probe.report"), "w") as f:
    f.write(__import__("json").dumps(found))
sys.exit(3)

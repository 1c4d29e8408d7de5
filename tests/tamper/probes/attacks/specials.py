# A correct solution, left among things the harness must not follow, open or choke on: a FIFO, a
# Unix socket, a name that is not UTF-8, a name whose line break would forge a hunk in patch.diff,
# a link to a file in the user's HOME, a hard link. The harness must score it a pass, copy what is
# a file, record the rest, and quote every name.
import os
import shutil
import socket

from probe_common import found, hints, report

shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "solution.payload"), hints["module"] + ".py")
os.mkfifo("a-fifo")
server = socket.socket(socket.AF_UNIX)
server.bind("a-socket")
with open(b"not-utf8-\xff\xfe.txt", "wb") as f:
    f.write(b"x\n")
forged = "x\n@@ -0,0 +1 @@\n+forged hunk"
with open(forged, "w") as f:
    f.write("y\n")
os.symlink(hints["victim"], "home-link")
os.link(hints["module"] + ".py", "hard-link.py")
found["left"] = sorted(os.listdir("."), key=repr)
report()

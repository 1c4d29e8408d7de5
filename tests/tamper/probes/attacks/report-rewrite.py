# A solution that rewrites pytest's reports (and the JUnit writer) when the tests import it: the
# solution module is the payload file beside this script, copied over the workspace's module.
import os

from probe_common import found, hints, report

payload = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "report-rewrite.payload")).read()
open(hints["module"] + ".py", "w").write(payload)
found["planted"] = True
report()

# A solution whose code, at the exit of the acceptance run, replaces pytest's JUnit report by a
# FIFO (the harness once blocked for ever opening it) and leaves a FIFO beside it.
import os
import shutil

from probe_common import found, hints, report

shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "junit-fifo.payload"), hints["module"] + ".py")
found["planted"] = True
report()

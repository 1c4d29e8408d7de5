# A 1,500-deep folder (once a RecursionError in the harness and no row at all for the cell).
import os

from probe_common import found, report

path = "d"
for _ in range(1500):
    os.mkdir(path)
    path += "/d"
found["depth"] = path.count("/")  # folders made
report()

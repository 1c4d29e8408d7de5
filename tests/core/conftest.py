# In-process pytester runs drop modules first imported inside them, and numpy's C core cannot be
# imported twice in one process: load the analysis stack once, up front.
import numpy  # noqa: F401

import pytest_arena.analysis.analyze  # noqa: F401
import pytest_arena.cell.runner  # noqa: F401

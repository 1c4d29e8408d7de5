"""The shipped real-prs instances, prepared once per machine (``setup --tasks real-prs``: PyPI is
needed the first time, never after) in the default install root, where runs find them."""
from __future__ import annotations

import pytest

# In-process pytester runs drop modules first imported inside them (see tests/core/conftest.py).
import numpy  # noqa: F401

import pytest_arena.analyze  # noqa: F401
import pytest_arena.runner  # noqa: F401
from pytest_arena.agents.installers import default_install_root
from pytest_arena.realprs.prepare import real_prs_root
from pytest_arena.realprs.setup import prepare_shipped
from pytest_arena.session import SHIPPED_TASKS

try:  # the optional official package: its `datasets` registers pyarrow types once per process, so
    import swebench.harness.utils  # noqa: F401  a second import after pytester's drop would fail
except ImportError:
    pass


@pytest.fixture(scope="session")
def install_root():
    root = default_install_root().expanduser().resolve()
    prepare_shipped(SHIPPED_TASKS, root, lambda line: None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARENA_AGENTS_DIR", str(root))  # pytester gives its runs their own HOME
        yield root


@pytest.fixture(scope="session")
def store(install_root):
    return real_prs_root(install_root)

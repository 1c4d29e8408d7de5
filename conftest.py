# Root conftest, kept minimal: the project's own tests use the `pytester` fixture (enabled with
# `-p pytester` in pyproject.toml) to run the plugin in temporary directories, and the suite's
# guard (tests/suite_guard.py) fails any session whose reports cannot be trusted or whose tests
# left a process running.
import os
from pathlib import Path

pytest_plugins = ["tests.suite_guard"]

# pytester gives each test project a HOME of its own; the sandbox self-check's cache of passes
# (pytest_arena/sandbox/selfcheck.py) stays where it is for the user, so each kind is probed once
# per machine as a user's would be, not once per test project (tests of the self-check itself
# point ARENA_SELFCHECK_DIR at a folder of their own).
os.environ.setdefault("ARENA_SELFCHECK_DIR", str(Path.home() / ".cache" / "pytest-arena" / "selfcheck"))

# Attack code and the guard's test projects are data, copied into throwaway projects: never
# collected (so never imported) by this suite.
collect_ignore = ["tests/tamper/probes", "tests/suite_guard_files"]

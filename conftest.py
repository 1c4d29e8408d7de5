# Root conftest, kept minimal: the project's own tests use the `pytester` fixture (enabled with
# `-p pytester` in pyproject.toml) to run the plugin in temporary directories, and the suite's
# guard (tests/suite_guard.py) fails any session whose reports cannot be trusted or whose tests
# left a process running.
pytest_plugins = ["tests.suite_guard"]

# Attack code and the guard's test projects are data, copied into throwaway projects: never
# collected (so never imported) by this suite.
collect_ignore = ["tests/tamper/probes", "tests/suite_guard_files"]

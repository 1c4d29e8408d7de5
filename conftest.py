# Root conftest, kept minimal: the project's own tests use the `pytester` fixture (enabled with
# `-p pytester` in pyproject.toml) to run the plugin in temporary directories.

# Root conftest: the project's own tests use pytester to run the plugin in temp dirs.
pytest_plugins = ["pytester"]

"""Generators of the documentation's reference pages (``docs/reference/``: config fields, command-line
options, row fields, cell-folder files, ``task.yaml`` fields, the task table) and of
``configs/schema.json``, all from the code, so they cannot drift from it (``reference.py``: the
``schema`` command; ``task_table.py``: the ``tasks`` command)."""

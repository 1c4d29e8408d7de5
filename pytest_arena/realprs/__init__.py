"""The ``real-prs`` task class: SWE-bench-format instances, scored without Docker.

- ``instance``: the SWE-bench instance schema (one JSON object or JSONL line per instance).
- ``recipe``: our own instance recipes (``tasks/real-prs/<instance_id>.yaml``): a project on
  PyPI, two consecutive releases, the files of a fix and its tests.
- ``prepare``: recipe -> instance (both sdists downloaded and hash-checked, the old release's tree
  git-initialised as the repository, ``patch``/``test_patch`` diffed old -> new), and instance ->
  prepared folder (repository at ``base_commit``, pristine tests, reference solution).
- ``env``: per (project, version) an interpreter environment with the project installed and its
  test requirements, built once and cached by the content hash of its install recipe.
- ``task``: a prepared instance as a task of the registry (same interface as ``tasks.Task``), and
  its SWE-bench prediction.
"""

"""The ``real-prs`` task class: SWE-bench-format instances, scored without Docker.

- ``instance``: the SWE-bench instance schema (one JSON object or JSONL line per instance).
- ``recipe``: our own instance recipes (``tasks/real-prs/<instance_id>.yaml``): a project on
  PyPI, two consecutive releases, the files of a fix and its tests.
- ``prepare``: recipe -> instance (both sdists downloaded and hash-checked, the old release's tree
  git-initialised as the repository, ``patch``/``test_patch`` diffed old -> new), and instance ->
  prepared folder (repository holding ``base_commit`` and what it reaches only, pristine tests,
  reference solution), and the check that a prepared repository is unchanged before each cell.
- ``gitsafe``: git as the harness runs it (no user or system config, no ``GIT_*`` of the caller,
  no hooks, the repository always named).
- ``patch``: the agent's change as the prediction diff, whatever it left in its workspace's git,
  without writing into the prepared repository.
- ``env``: per (project, version) an interpreter environment with the project installed and its
  test requirements, built once and cached by the content hash of its install recipe.
- ``task``: a prepared instance as a task (``pytest_arena.tasks.base.Task``), and its SWE-bench
  prediction.
- ``registry``: the class's record (``REAL_PRS``): how its tasks are found and prepared.
"""

NAME = "real-prs"  # the class's name: in benchmark.task_classes, the rows' category, its task ids

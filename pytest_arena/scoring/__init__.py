"""Scoring a finished workspace: restore the pristine acceptance tests, run them sandboxed, read the
JUnit, cross-check; the scoring interpreter environment and the reference-solution check."""

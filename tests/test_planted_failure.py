"""The planted failure: with ARENA_PLANT_FAILURE=1 this test runs and must fail. `.ci/run` runs the
README's test command that way first and requires exit code 1 with this test named as failed
before it runs the real suite: proof, every CI run, that a failing test in this suite can still
make it fail. When planted, the whole collection is imported (every test module, in every xdist
worker) and only this test runs (tests/suite_guard.py)."""
import os

import pytest

PLANTED = os.environ.get("ARENA_PLANT_FAILURE") == "1"


@pytest.mark.skipif(not PLANTED, reason="runs only when planted (ARENA_PLANT_FAILURE=1, as .ci/run does)")
def test_planted_failure_must_fail():
    assert 1 == 2, "the planted failure"

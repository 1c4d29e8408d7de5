"""The planted failure: with ARENA_PLANT_FAILURE=1 this test runs and must fail. `.ci/run` runs the
README's test command that way first, over the whole collection, and requires a non-zero exit
with this test named as failed before it runs the real suite: proof, every CI run, that a failing
test in this suite can still make it fail. The suite's conftest puts it first when it is planted."""
import os

import pytest

PLANTED = os.environ.get("ARENA_PLANT_FAILURE") == "1"


@pytest.mark.skipif(not PLANTED, reason="runs only when planted (ARENA_PLANT_FAILURE=1, as .ci/run does)")
def test_planted_failure_must_fail():
    assert 1 == 2, "the planted failure"

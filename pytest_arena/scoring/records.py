"""What scoring hands on: the verdict of one acceptance run (``ScoreResult``) and the interpreter
environment acceptance tests run in (``ScoringEnv``). Plain records at the bottom of the scoring
stage, so that the cell's files and the task protocol can name them without importing scoring.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_arena.paths import base_python

__all__ = ["ScoreResult", "ScoringEnv"]


@dataclass
class ScoreResult:
    status: Literal["pass", "fail", "infra_error"]
    tests_passed: int
    tests_total: int
    reason: str
    duration_s: float
    junit_path: Path | None
    sandbox: str
    failures: list[str] = field(default_factory=list)  # ids of tests that did not pass
    tampering: str | None = None  # what a cross-check caught; None when the report held up
    scoring_env: str | None = None  # key of the clean interpreter environment the tests ran in
    output: str = ""  # pytest's stdout and stderr of the acceptance run (the cell's test_output.txt)
    runner: str = "pytest"  # the test runner the task names (pytest_arena/scoring/runners)
    checks: tuple[str, ...] = ()  # the cross-checks that applied (pytest_arena/scoring/runners/base.py)


@dataclass(frozen=True)
class ScoringEnv:
    path: Path  # the read-only folder appended to sys.path
    key: str  # content digest (the folder's name)
    # The base interpreter, not the venv's (whose bin/ is as writable as its site-packages).
    python: str = field(default_factory=base_python)
    # Bound read-only beside the folder (the sandbox binds the base interpreter's prefix itself).
    python_roots: tuple[Path, ...] = ()

    @property
    def readonly_paths(self) -> tuple[Path, ...]:
        return (self.path, *self.python_roots)

    def command(self, pytest_args: list[str], *, bootstrap: str | None = None) -> list[str]:
        """The argv running pytest (or ``bootstrap``, which must end by running pytest) here."""
        code = bootstrap or "import pytest\nraise SystemExit(pytest.main())\n"
        prelude = f"import sys\nsys.path.append({str(self.path)!r})\n"
        return [self.python, "-I", "-S", "-B", "-c", prelude + code, *pytest_args]

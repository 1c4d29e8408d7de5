"""Which cross-checks stood behind the verdicts a report counts, per test runner.

A pytest task's row says nothing of its runner (its row is as it was before tasks could name
one): pytest's checks applied. A row of another runner (go, rust, ...) records its name and the
checks that applied (``scoring.runner``, ``scoring.checks``); those differ from pytest's (no
pristine collection: the tests the reference's run reported stand for it), and the reports say so.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from pytest_arena.scoring.runners.base import (
    CANARIES,
    CHECK_TITLES,
    EXIT_CODE,
    PRISTINE_COLLECTION,
    RESTORED_TESTS,
)

__all__ = ["PYTEST_CHECKS", "cross_check_lines", "glossary", "runner_checks"]

PYTEST_CHECKS = (RESTORED_TESTS, CANARIES, PRISTINE_COLLECTION, EXIT_CODE)


def runner_checks(row: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """(runner, checks) of a scored row; None for a row whose tests never ran."""
    scoring = row.get("scoring")
    if not isinstance(scoring, dict):
        return None
    runner = scoring.get("runner")
    if not runner:
        return "pytest", PYTEST_CHECKS
    checks = scoring.get("checks")
    return str(runner), tuple(str(c) for c in checks) if isinstance(checks, list) else ()


def cross_check_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per test runner with the checks its runs applied and those of pytest's that did
    not; nothing when every scored row is pytest's (the report says what it always said)."""
    counts: Counter[tuple[str, tuple[str, ...]]] = Counter(filter(None, (runner_checks(r) for r in rows)))
    if all(runner == "pytest" for runner, _ in counts):
        return []
    lines = []
    for (runner, checks), n in sorted(counts.items()):
        applied = ", ".join(checks) or "none recorded"
        missing = [c for c in PYTEST_CHECKS if c not in checks]
        unlike = f"; not applied: {', '.join(missing)}" if missing else ""
        lines.append(f"{runner} ({n} scored run{'s' if n != 1 else ''}): {applied}{unlike}")
    return lines


def glossary(rows: list[dict[str, Any]]) -> list[str]:
    """What each check named in ``cross_check_lines`` means."""
    named = {c for found in filter(None, (runner_checks(r) for r in rows)) for c in found[1]}
    return [f"{check}: {CHECK_TITLES[check]}" for check in CHECK_TITLES if check in named]

"""The outcome decision, one cell's facts at a time (benchmarks/mutation.py found these untested
by any fast test: the end-to-end cells only reach a few of its branches).

``decide_outcome`` picks the most specific outcome: infra_error > pass > timeout > budget >
truncated > crash > fail, and each outcome shows in pytest with its own letter and word.
"""
from __future__ import annotations

import pytest

from pytest_arena.agents.base import AgentResult
from pytest_arena.cell.runner import decide_outcome
from pytest_arena.outcomes import TEST_STATUS, Outcome
from pytest_arena.router.contracts import LedgerRecord, RunTotals
from pytest_arena.scoring.records import ScoreResult


def scored(status="fail", passed=1, total=3, reason="1/3 tests passed; test_a.py::test_x: assert 1 == 2"):
    return ScoreResult(status=status, tests_passed=passed, tests_total=total, reason=reason,
                       duration_s=0.1, junit_path=None, sandbox="bwrap")


def totals(**statuses):
    records = [LedgerRecord(run_id="r", seq=i, ts=0.0, protocol="openai", purpose="agent", strategy="s",
                            choice="cloud", reason="", backend="b", model="m", status=status,
                            error=f"{status} #{i}")
               for i, status in enumerate(s for s, n in statuses.items() for _ in range(n))]
    return RunTotals(run_id="r", statuses={k: v for k, v in statuses.items() if v}, records=records)


def agent(failure=None, reason="", exit_code=0):
    return AgentResult(exit_code=exit_code, duration_s=1.0, failure=failure, reason=reason)


def test_a_harness_failure_is_an_infra_error_whatever_else_happened():
    outcome, reason = decide_outcome(scored("pass", 3, 3, "all 3 tests passed"), agent(), totals(), "router died")
    assert (outcome, reason) == (Outcome.INFRA_ERROR, "router died")


@pytest.mark.parametrize("status", ["auth_error", "upstream_error"])
def test_a_backend_failure_is_an_infra_error_naming_the_count_and_the_first_error(status):
    outcome, reason = decide_outcome(scored("pass", 3, 3, "all 3 tests passed"), agent(),
                                     totals(ok=1, **{status: 2}), None)
    assert outcome is Outcome.INFRA_ERROR
    assert reason == f"backend failed on 2 call(s): {status} #1"


def test_a_scoring_sandbox_failure_is_an_infra_error():
    outcome, reason = decide_outcome(scored("infra_error", 0, 0, "bwrap broke"), agent(), totals(), None)
    assert (outcome, reason) == (Outcome.INFRA_ERROR, "scoring sandbox failed: bwrap broke")


def test_passing_tests_are_a_pass_even_after_refused_or_cut_calls():
    outcome, reason = decide_outcome(scored("pass", 3, 3, "all 3 tests passed"), agent(),
                                     totals(ok=2, budget_exceeded=1, truncated=1, timeout=1), None)
    assert (outcome, reason) == (Outcome.PASS, "3/3 tests passed")


def test_a_pass_after_the_agents_time_limit_says_so():
    outcome, reason = decide_outcome(scored("pass", 2, 2, "all 2 tests passed"),
                                     agent("timeout", "killed at 60 s"), totals(), None)
    assert outcome is Outcome.PASS
    assert reason == "2/2 tests passed after the agent was killed at its time limit"


def test_a_crashed_agent_whose_tests_pass_is_a_pass_without_the_time_limit_note():
    outcome, reason = decide_outcome(scored("pass", 2, 2, "all 2 tests passed"),
                                     agent("agent_crash", "segfault", 139), totals(), None)
    assert (outcome, reason) == (Outcome.PASS, "2/2 tests passed")


def test_an_agent_killed_at_its_time_limit_is_a_timeout_before_anything_else():
    outcome, reason = decide_outcome(scored(), agent("timeout", "wall time 60 s exceeded"),
                                     totals(budget_exceeded=1, truncated=1), None)
    assert outcome is Outcome.TIMEOUT
    assert reason == "agent ran past its time limit (wall time 60 s exceeded); 1/3 tests passed"


def test_an_agent_timeout_without_a_reason_says_killed():
    assert decide_outcome(scored(), agent("timeout"), totals(), None)[1] == \
        "agent ran past its time limit (killed); 1/3 tests passed"


def test_a_local_call_cut_by_the_wall_time_guard_is_a_timeout_before_budget():
    outcome, reason = decide_outcome(scored(), agent(), totals(timeout=2, budget_exceeded=1), None)
    assert (outcome, reason) == (Outcome.TIMEOUT, "2 local call(s) hit the wall-time guard; 1/3 tests passed")


def test_a_refused_cloud_call_is_budget_exceeded_before_truncated_and_crash():
    outcome, reason = decide_outcome(scored(), agent("agent_crash", "boom", 1),
                                     totals(budget_exceeded=1, truncated=3), None)
    assert (outcome, reason) == (Outcome.BUDGET_EXCEEDED,
                                 "cloud budget exhausted (1 call(s) refused); 1/3 tests passed")


def test_a_call_cut_by_the_output_cap_is_truncated_before_crash():
    outcome, reason = decide_outcome(scored(), agent("agent_crash", "boom", 1), totals(truncated=3), None)
    assert (outcome, reason) == (Outcome.TRUNCATED, "3 local call(s) cut by the output cap; 1/3 tests passed")


def test_a_crashed_agent_with_failing_tests_is_a_crash():
    outcome, reason = decide_outcome(scored(), agent("agent_crash", "segfault", 139), totals(ok=1), None)
    assert (outcome, reason) == (Outcome.AGENT_CRASH, "agent crashed: segfault; 1/3 tests passed")
    assert decide_outcome(scored(), agent("agent_crash", "", 3), totals(), None)[1] == \
        "agent crashed: exit 3; 1/3 tests passed"


def test_failing_tests_alone_are_a_fail_with_the_scorers_reason():
    reason = "1/3 tests passed; test_a.py::test_x: assert 1 == 2"
    assert decide_outcome(scored(reason=reason), agent(), totals(ok=1), None) == (Outcome.FAIL, reason)
    assert decide_outcome(scored(reason=""), agent(), None, None) == (Outcome.FAIL, "1/3 tests passed")
    assert decide_outcome(scored(reason="tampering detected: x"), None, None, None) == \
        (Outcome.FAIL, "1/3 tests passed: tampering detected: x")


def test_only_infra_error_leaves_the_pass_rate_denominator():
    assert [o for o in Outcome if not o.counts_in_pass_rate] == [Outcome.INFRA_ERROR]


def test_each_outcome_shows_in_pytest_as_its_category_and_letter():
    shown = {o.value: TEST_STATUS[o][:2] for o in Outcome}
    assert shown == {"pass": ("passed", "."), "fail": ("failed", "F"), "timeout": ("failed", "T"),
                     "budget_exceeded": ("failed", "B"), "agent_crash": ("failed", "C"),
                     "truncated": ("failed", "R"), "infra_error": ("error", "E")}

"""Cell outcomes and how each shows in pytest."""
from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):  # noqa: UP042 (a StrEnum would change str(outcome) from "Outcome.PASS" to "pass")
    PASS = "pass"
    FAIL = "fail"  # tests ran, not all passed
    TIMEOUT = "timeout"  # the agent (or a local model call) ran out of wall time
    BUDGET_EXCEEDED = "budget_exceeded"  # the router refused cloud calls over the USD cap
    AGENT_CRASH = "agent_crash"  # the agent exited abnormally
    TRUNCATED = "truncated"  # a local guard cut the model off
    INFRA_ERROR = "infra_error"  # router/backend/sandbox broke: not the system under test

    @property
    def counts_in_pass_rate(self) -> bool:
        """Headline pass rate: every outcome except infra_error is in the denominator."""
        return self is not Outcome.INFRA_ERROR


# (pytest category, short letter, verbose word) per outcome, for pytest_report_teststatus.
TEST_STATUS = {
    Outcome.PASS: ("passed", ".", "PASS"),
    Outcome.FAIL: ("failed", "F", "FAIL"),
    Outcome.TIMEOUT: ("failed", "T", "TIMEOUT"),
    Outcome.BUDGET_EXCEEDED: ("failed", "B", "BUDGET"),
    Outcome.AGENT_CRASH: ("failed", "C", "CRASH"),
    Outcome.TRUNCATED: ("failed", "R", "TRUNCATED"),
    Outcome.INFRA_ERROR: ("error", "E", "INFRA-ERROR"),
}

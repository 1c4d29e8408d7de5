# Data for tests/test_suite_guard.py, never imported by the suite itself: a helper module that, on
# import, makes every test report "passed" (what the tamper suite's quoting slip once did to the
# whole suite). The guard's tests copy it into a throwaway project and run pytest there.
from _pytest import reports

_original = reports.TestReport.from_item_and_call


def _passing(item, call):
    report = _original(item, call)
    report.outcome, report.longrepr = "passed", None
    return report


reports.TestReport.from_item_and_call = staticmethod(_passing)

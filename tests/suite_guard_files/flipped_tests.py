# Data for tests/test_suite_guard.py, copied into a throwaway project as test_flipped.py (this name
# keeps the suite from collecting it): importing flip_reports is the attack.
import flip_reports  # noqa: F401


def test_must_fail():
    assert 1 == 2


def test_passes():
    assert True

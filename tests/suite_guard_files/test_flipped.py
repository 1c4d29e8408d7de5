import flip_reports  # noqa: F401  (its import is the attack)


def test_must_fail():
    assert 1 == 2


def test_passes():
    assert True

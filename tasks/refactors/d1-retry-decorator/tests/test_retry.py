"""Acceptance tests for retry.py and its wiring into main.build_client."""
import importlib
import time

import pytest

import main
from errors import PermanentError, TransientError
from fake_transport import ScriptedTransport


@pytest.fixture
def retry():
    """retry.retry, imported per test so that a missing module fails each test on its own."""
    return importlib.import_module("retry").retry


class Sleeps:
    """Records the waits instead of waiting."""

    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


class Flaky:
    """Raises the given exceptions in order, then returns "done"."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_success_on_first_attempt_never_sleeps(retry):
    sleeps = Sleeps()
    func = Flaky()
    assert retry(retry_on=ValueError, max_attempts=3, base_delay=1, sleep=sleeps)(func)() == "done"
    assert (len(func.calls), sleeps.waits) == (1, [])


def test_retries_with_exponential_backoff_until_success(retry):
    sleeps = Sleeps()
    func = Flaky(ValueError("1"), ValueError("2"), ValueError("3"))
    wrapped = retry(retry_on=ValueError, max_attempts=5, base_delay=0.25, sleep=sleeps)(func)
    assert wrapped() == "done"
    assert len(func.calls) == 4
    assert sleeps.waits == [0.25, 0.5, 1.0]


def test_gives_up_after_max_attempts_and_reraises_the_last_error_itself(retry):
    sleeps = Sleeps()
    errors = [KeyError("first"), KeyError("second"), KeyError("third")]
    func = Flaky(*errors)
    with pytest.raises(KeyError) as info:
        retry(retry_on=KeyError, max_attempts=3, base_delay=2, sleep=sleeps)(func)()
    assert info.value is errors[-1]
    assert len(func.calls) == 3
    assert sleeps.waits == [2, 4]  # no wait after the last attempt


def test_other_exceptions_propagate_immediately(retry):
    sleeps = Sleeps()
    func = Flaky(TypeError("bug"), TypeError("bug"))
    with pytest.raises(TypeError):
        retry(retry_on=ValueError, max_attempts=5, base_delay=1, sleep=sleeps)(func)()
    assert (len(func.calls), sleeps.waits) == (1, [])


def test_tuple_of_exception_types_and_subclasses_are_retried(retry):
    sleeps = Sleeps()
    func = Flaky(ConnectionResetError(), KeyError("k"), TimeoutError())
    wrapped = retry(retry_on=(OSError, LookupError), max_attempts=4, base_delay=1, sleep=sleeps)(func)
    assert wrapped() == "done"
    assert sleeps.waits == [1, 2, 4]


def test_single_attempt_means_no_retry(retry):
    sleeps = Sleeps()
    func = Flaky(ValueError())
    with pytest.raises(ValueError):
        retry(retry_on=ValueError, max_attempts=1, base_delay=1, sleep=sleeps)(func)()
    assert (len(func.calls), sleeps.waits) == (1, [])


def test_zero_base_delay_still_calls_sleep_with_zero(retry):
    sleeps = Sleeps()
    wrapped = retry(retry_on=ValueError, max_attempts=3, base_delay=0, sleep=sleeps)(Flaky(ValueError()))
    assert wrapped() == "done"
    assert sleeps.waits == [0]


@pytest.mark.parametrize("kwargs", [
    {"max_attempts": 0, "base_delay": 1},
    {"max_attempts": -2, "base_delay": 1},
    {"max_attempts": 3, "base_delay": -0.5},
])
def test_invalid_configuration_is_rejected_when_building_the_decorator(retry, kwargs):
    with pytest.raises(ValueError):
        retry(retry_on=ValueError, **kwargs)


def test_arguments_are_keyword_only(retry):
    with pytest.raises(TypeError):
        retry(ValueError, 3, 1)


def test_default_sleep_is_time_sleep_looked_up_when_waiting(retry, monkeypatch):
    # Small delays: an implementation that bound time.sleep too early really waits, briefly.
    wrapped = retry(retry_on=ValueError, max_attempts=3, base_delay=0.125)(Flaky(ValueError(), ValueError()))
    sleeps = Sleeps()
    monkeypatch.setattr(time, "sleep", sleeps)
    assert wrapped() == "done"
    assert sleeps.waits == [0.125, 0.25]


def test_arguments_pass_through_and_metadata_is_kept(retry):
    def add(a, b, *, scale=1):
        """Add, then scale."""
        return (a + b) * scale

    wrapped = retry(retry_on=ValueError, max_attempts=2, base_delay=0, sleep=Sleeps())(add)
    assert wrapped(2, 3, scale=10) == 50
    assert wrapped.__name__ == "add"
    assert wrapped.__doc__ == "Add, then scale."


def test_each_call_starts_with_a_fresh_attempt_count(retry):
    sleeps = Sleeps()
    func = Flaky(ValueError(), ValueError(), ValueError())
    wrapped = retry(retry_on=ValueError, max_attempts=2, base_delay=1, sleep=sleeps)(func)
    with pytest.raises(ValueError):
        wrapped()  # attempts 1 and 2 fail
    assert wrapped() == "done"  # attempt 1 fails again, attempt 2 succeeds: a fresh count
    assert len(func.calls) == 4
    assert sleeps.waits == [1, 1]


def test_client_retries_transient_failures_with_the_configured_backoff(retry):
    sleeps = Sleeps()
    transport = ScriptedTransport((503, b""), ConnectionResetError("reset"), (200, b'{"id": 1}'))
    client = main.build_client(transport=transport, sleep=sleeps)
    assert client.fetch_json("/users/1") == {"id": 1}
    assert len(transport.calls) == 3
    assert sleeps.waits == [0.5, 1.0]


def test_client_gives_up_after_four_attempts(retry):
    sleeps = Sleeps()
    transport = ScriptedTransport((502, b""))
    client = main.build_client(transport, sleeps)
    with pytest.raises(TransientError) as info:
        main.get_user(client, 9)
    assert info.value.status == 502
    assert transport.calls == [("GET", main.BASE_URL + "/users/9")] * 4
    assert sleeps.waits == [0.5, 1.0, 2.0]


def test_client_never_retries_permanent_errors(retry):
    sleeps = Sleeps()
    transport = ScriptedTransport((404, b"{}"), (200, b"{}"))
    with pytest.raises(PermanentError):
        main.build_client(transport=transport, sleep=sleeps).fetch_json("/users/404")
    assert (len(transport.calls), sleeps.waits) == (1, [])


def test_build_client_without_sleep_waits_with_time_sleep(retry, monkeypatch):
    sleeps = Sleeps()
    monkeypatch.setattr(time, "sleep", sleeps)
    transport = ScriptedTransport((429, b""), (200, b'{"ok": true}'))
    assert main.get_user(main.build_client(transport=transport), 5) == {"ok": True}
    assert sleeps.waits == [0.5]

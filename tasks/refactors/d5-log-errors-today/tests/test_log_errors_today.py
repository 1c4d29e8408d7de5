import os
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
SCRIPT = HERE / "solution.sh"
LOG = HERE / "app.log"

EXPECTED_FOR_MARCH_14 = (
    "2026-03-14 07:30:12 ERROR cache: eviction thread crashed: KeyError('session')\n"
    "2026-03-14 09:02:11 ERROR db: connection refused (attempt 1)\n"
    "2026-03-14 09:02:11 ERROR db: connection refused (attempt 1)\n"
    "2026-03-14 09:02:14 ERROR db: connection refused (attempt 2)\n"
    "2026-03-14 11:45:30 ERROR web: GET /orders/17 -> 500\n"
    "2026-03-14 23:59:59 ERROR web: shutdown timed out\n"
)


def run(*args: str, today: str = "2026-03-14") -> subprocess.CompletedProcess:
    env = {**os.environ, "TODAY": today}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=30)


def test_todays_errors_exact_output():
    result = run(str(LOG))
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED_FOR_MARCH_14


def test_the_date_comes_from_the_today_variable():
    result = run(str(LOG), today="2026-03-13")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "2026-03-13 08:12:44 ERROR web: GET /health -> 503\n"
        "2026-03-13 23:59:59 ERROR scheduler: nightly job for 2026-03-14 failed\n"
    )


def test_no_errors_today_prints_nothing_and_succeeds(tmp_path):
    log = tmp_path / "quiet.log"
    log.write_text("2026-03-14 10:00:00 INFO  web: all good\n"
                   "2026-03-12 10:00:00 ERROR web: old news\n", encoding="utf-8")
    result = run(str(log))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_missing_argument_prints_usage():
    result = run()
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() != ""


def test_missing_file_is_named_in_the_error(tmp_path):
    missing = tmp_path / "nope.log"
    result = run(str(missing))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "nope.log" in result.stderr

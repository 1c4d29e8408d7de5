import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPT = HERE / "solution.py"

EXPECTED_FOR_ENV_JSON = """\
{
  "APP_NAME": "billing",
  "DATABASE_URL": "postgres://app@db:5432/billing",
  "DATABASE_PASSWORD": "[REDACTED]",
  "STRIPE_API_KEY": "[REDACTED]",
  "GITHUB_TOKEN": "[REDACTED]",
  "AWS_SECRET_ACCESS_KEY": "[REDACTED]",
  "session-secret": "[REDACTED]",
  "Admin.Password": "[REDACTED]",
  "EMPTY_TOKEN": "[REDACTED]",
  "TOKEN_TTL": 3600,
  "PASSWORD_MIN_LENGTH": 12,
  "KEYBOARD_LAYOUT": "de",
  "MONKEY_MODE": "on",
  "SIGNING_KEYS": [
    "k1",
    "k2"
  ],
  "OAUTH": {
    "CLIENT_ID": "xyz",
    "CLIENT_SECRET": "nested values are not searched"
  },
  "DEBUG": false,
  "GREETING": "Grüße, 世界"
}
"""


def redact(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, timeout=30)


def test_env_json_exact_output():
    result = redact(str(HERE / "env.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8") == EXPECTED_FOR_ENV_JSON


def test_words_match_case_insensitively_and_only_strings_are_redacted(tmp_path):
    doc = tmp_path / "small.json"
    doc.write_text('{"db_password": "x", "Token": "y", "password": null, "api.key": 7}',
                   encoding="utf-8")
    result = redact(str(doc))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8") == (
        '{\n  "db_password": "[REDACTED]",\n  "Token": "[REDACTED]",\n'
        '  "password": null,\n  "api.key": 7\n}\n'
    )


def test_top_level_array_is_rejected(tmp_path):
    doc = tmp_path / "list.json"
    doc.write_text('[{"API_KEY": "x"}]', encoding="utf-8")
    result = redact(str(doc))
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"object" in result.stderr


def test_invalid_json_is_an_error(tmp_path):
    doc = tmp_path / "broken.json"
    doc.write_text('{"API_KEY": ', encoding="utf-8")
    result = redact(str(doc))
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.strip() != b""


def test_no_argument_prints_usage():
    result = redact()
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.strip() != b""

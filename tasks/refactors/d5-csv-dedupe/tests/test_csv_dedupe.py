import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPT = HERE / "solution.py"

EXPECTED_FOR_CUSTOMERS = (
    'id,name,email,note\n'
    '1001,Ada Lovelace,ada@example.org,first customer\n'
    '1002,"Hopper, Grace",grace@example.org,"prefers ""Amazing Grace"""\n'
    '1003,Alan Turing,alan@example.org,\n'
    '1004,Émilie du Châtelet,emilie@example.org,"line one\nline two"\n'
    '1005,Katherine Johnson,kj@example.org,"orbits, trajectories"\n'
    '1006,Hedy Lamarr,hedy@example.org,last\n'
)


def dedupe(data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT)], input=data, capture_output=True,
                          timeout=30)


def test_customers_exact_output():
    result = dedupe((HERE / "customers.csv").read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8") == EXPECTED_FOR_CUSTOMERS


def test_customers_reports_the_number_dropped():
    result = dedupe((HERE / "customers.csv").read_bytes())
    assert result.stderr.decode("utf-8").strip() == "duplicates dropped: 3"


def test_empty_input():
    result = dedupe(b"")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    assert result.stderr.decode("utf-8").strip() == "duplicates dropped: 0"


def test_header_only():
    result = dedupe(b"sku,qty\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"sku,qty\n"


def test_crlf_input_gives_lf_output_and_ids_are_case_sensitive():
    result = dedupe(b"sku,qty\r\nA-1,3\r\na-1,4\r\nA-1,5\r\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"sku,qty\nA-1,3\na-1,4\n"

"""What the toolchain runners share: the system PATH they run with, finding a program on it,
reading a step's output and JUnit reports (bounded: the tested code wrote them), writing the
JUnit report a cell folder keeps, and the planted-test names."""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from xml.sax.saxutils import quoteattr

from pytest_arena.sandbox.leftovers import read_bounded
from pytest_arena.scoring.runners.base import RunnerCase, StepRun, Verdict

__all__ = [
    "OUTPUT_MAX_BYTES", "SYSTEM_PATH", "first_error", "missing_programs", "read_junit_cases", "read_output",
    "system_program", "write_junit",
]

# Toolchains come from the system's packages: the sandbox shows /usr, /bin and /etc, not a
# user's ~/.cargo or ~/go, so only what is on this PATH runs the same inside and out.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
OUTPUT_MAX_BYTES = 32 << 20  # a step's output read back (the tested code wrote it: bounded)
_VERDICTS: dict[str, Verdict] = {"failure": "failed", "error": "error", "skipped": "skipped"}
_DETAIL_CHARS = 4000


def system_program(name: str) -> str | None:
    """``name`` on the system PATH (what the sandbox can run), or None."""
    return shutil.which(name, path=SYSTEM_PATH)


def program_output(name: str, *args: str, timeout_s: float = 60) -> str | None:
    """What the system's ``name`` prints (stdout, else stderr; stripped) for ``args``, e.g. its
    version; None when it is not on the system PATH or cannot run."""
    program = system_program(name)
    if program is None:
        return None
    try:
        done = subprocess.run([program, *args], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout or done.stderr).strip() or None


def missing_programs(names: Iterable[str], install_hint: str) -> str | None:
    """"go is not installed (apt-get install golang-go)" for the first program not on the system
    PATH, saying where else it is when it is only outside it; None when every one is there."""
    for name in names:
        if system_program(name) is None:
            elsewhere = shutil.which(name)
            where = (f" from the system's packages (only {elsewhere}, which the scoring sandbox does not show)"
                     if elsewhere else "")
            return f"{name} is not installed{where}: {install_hint}"
    return None


def read_output(run: StepRun) -> str:
    """A step's whole output (its file), bounded, as text."""
    data = read_bounded(run.output, OUTPUT_MAX_BYTES)
    return "" if data is None else data.decode("utf-8", "replace")


def first_error(text: str, pattern: str = r"error|Error|ERROR") -> str:
    """The first line of ``text`` matching ``pattern`` (else its last non-empty line), shortened."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    hit = next((line for line in lines if re.search(pattern, line)), lines[-1] if lines else "no output")
    return hit if len(hit) <= 300 else hit[:297] + "..."


def read_junit_cases(paths: Iterable[Path], test_id: Callable[[str, str], str],
                     max_bytes: int = OUTPUT_MAX_BYTES) -> list[RunnerCase] | None:
    """Every testcase of the JUnit reports at ``paths`` (``test_id(classname, name)`` names
    each), or None when none of them is a readable report."""
    cases: list[RunnerCase] = []
    found = False
    for path in paths:
        data = read_bounded(path, max_bytes + 1)
        if data is None or len(data) > max_bytes:
            continue
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            continue
        found = True
        for case in root.iter("testcase"):
            outcome = next((child for child in case if child.tag in _VERDICTS), None)
            key = test_id(case.get("classname", ""), case.get("name", ""))
            if outcome is None:
                cases.append(RunnerCase(key, "passed"))
            else:
                detail = f"{outcome.get('message', '')}\n{outcome.text or ''}".strip()
                cases.append(RunnerCase(key, _VERDICTS[outcome.tag], detail[:_DETAIL_CHARS]))
    return cases if found else None


def write_junit(cases: Iterable[RunnerCase], path: Path, suite: str) -> None:
    """A JUnit report of ``cases`` (each test's id as its name): what the cell folder keeps as
    junit.xml for a runner whose own report is not JUnit."""
    lines = []
    counted = list(cases)
    for case in counted:
        if case.verdict == "passed":
            lines.append(f"  <testcase classname=\"\" name={quoteattr(_xml_text(case.test_id))}/>")
            continue
        tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[case.verdict]
        body = _xml_text(case.detail)
        lines.append(f"  <testcase classname=\"\" name={quoteattr(_xml_text(case.test_id))}>"
                     f"<{tag} message={quoteattr(body.splitlines()[0] if body else '')}>{_escape(body)}</{tag}>"
                     "</testcase>")
    failures = sum(c.verdict == "failed" for c in counted)
    errors = sum(c.verdict == "error" for c in counted)
    skipped = sum(c.verdict == "skipped" for c in counted)
    head = (f"<testsuite name={quoteattr(suite)} tests=\"{len(counted)}\" failures=\"{failures}\" "
            f"errors=\"{errors}\" skipped=\"{skipped}\">")
    path.write_text("\n".join(['<?xml version="1.0" encoding="utf-8"?>', head, *lines, "</testsuite>", ""]),
                    encoding="utf-8")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold (control characters dropped)."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

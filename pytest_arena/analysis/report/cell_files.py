"""Reading a cell folder for its page: the routed calls, the diff and the failing tests.

A cell folder (``<results>/<row.output_ref>/``) holds, from this version on, ``row.json``,
``patch.diff``, ``calls.jsonl`` (its ledger records), ``transcript.jsonl`` (each routed call's
request and response), ``test_output.txt``, ``junit.xml`` and ``logs/``. Folders of older runs
have only some of these: the calls then come from the results folder's ledger, and whatever is
missing is said so on the page, never an error. Every reader caps what it takes, so one huge or
hostile file cannot stall the report.
"""
from __future__ import annotations

import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path

from pytest_arena.cell.story import CALLS, NOT_PASSED, TEST_OUTPUT, TRANSCRIPT
from pytest_arena.router.transcript import load_body
from pytest_arena.sandbox.leftovers import read_bounded
from pytest_arena.scoring.score import junit_test_id, read_junit  # the scorer's own reader

MAX_TEXT_BYTES = 1_000_000  # a diff or test output beyond this is cut (the file itself is linked)
MAX_CALLS = 2_000  # calls shown per page; the rest are counted
MAX_FAILURES = 200
JUNIT = "junit.xml"  # the acceptance run's report, as the runner copies it into the cell folder


@dataclass
class Call:
    """One routed call as the page shows it; ``request``/``response`` are None without a transcript."""

    seq: int | None
    side: str  # local | cloud | "" (not recorded)
    purpose: str
    model: str
    reason: str
    status: str
    error: str | None = None
    prompt_tokens: float | None = None  # as the ledger or transcript wrote them: JSON numbers
    completion_tokens: float | None = None
    cost_usd: float | None = None
    upstream_ms: float | None = None
    request: dict | None = None
    response: dict | None = None
    finish_reason: str | None = None
    body_note: str | None = None  # why request/response are missing


@dataclass
class Failure:
    test: str
    verdict: str  # failed | error | skipped (a skip is not a pass) | not passed (no junit.xml entry)
    details: str  # pytest's message and traceback


@dataclass
class TestResults:
    source: str | None  # where the list comes from, or None when the tests left no report
    failures: list[Failure] = field(default_factory=list)
    problem: str | None = None  # junit.xml present but unreadable


def read_text(path: Path, limit: int = MAX_TEXT_BYTES) -> tuple[str | None, bool]:
    """(text, cut): None when the file is absent, unreadable or not a regular file reached without
    a link (a cell folder left on its host holds what the agent left: never followed, never waited
    on); decoding never fails."""
    data = read_bounded(path, limit + 1)
    if data is None:
        return None, False
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


def read_jsonl_records(path: Path, limit: int = MAX_CALLS) -> list[dict] | None:
    """Objects of a JSON-lines file (bad lines skipped); None when the file is absent."""
    try:
        handle = path.open("r", encoding="utf-8", errors="replace")
    except OSError:
        return None
    records: list[dict] = []
    with handle:
        for line in handle:
            if len(records) >= limit:
                break
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                records.append(value)
    return records


def decode_body(value: object) -> tuple[object, str | None]:
    """A transcript body through the format's own reader (router/transcript.py); returns
    (body, note), the note saying why a body cannot be shown."""
    try:
        return load_body(value), None
    except (binascii.Error, OSError, EOFError, ValueError, TypeError):  # gzip errors are OSError/EOFError
        return None, "compressed body could not be decoded"


def _number(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _object(value: object) -> dict:
    """A JSON object field as a dict; anything else (absent, a string, a list) as an empty one."""
    return value if isinstance(value, dict) else {}


def _call_from_ledger(rec: dict) -> Call:
    return Call(
        seq=rec.get("seq") if isinstance(rec.get("seq"), int) else None,
        side=str(rec.get("choice") or ""), purpose=str(rec.get("purpose") or "agent"),
        model=str(rec.get("model") or ""), reason=str(rec.get("reason") or ""),
        status=str(rec.get("status") or ""), error=rec.get("error"),
        prompt_tokens=_number(rec.get("prompt_tokens")), completion_tokens=_number(rec.get("completion_tokens")),
        cost_usd=_number(rec.get("cost_usd")), upstream_ms=_number(rec.get("upstream_ms")))


def _merge_transcript(call: Call, entry: dict) -> Call:
    """A transcript entry adds the bodies (and fills what the ledger record lacks)."""
    decision = _object(entry.get("decision"))
    call.side = str(entry.get("side") or entry.get("choice") or call.side)
    call.model = str(entry.get("model") or call.model)
    call.reason = str(entry.get("reason") or decision.get("reason") or call.reason)
    call.status = str(entry.get("status") or call.status)
    call.purpose = str(entry.get("purpose") or call.purpose)
    call.error = entry.get("error") or call.error
    usage = _object(entry.get("usage"))
    if call.prompt_tokens is None:
        call.prompt_tokens, call.completion_tokens = _number(usage.get("prompt")), _number(usage.get("completion"))
    if call.cost_usd is None:
        call.cost_usd = _number(entry.get("cost_usd"))
    if entry.get("finish_reason"):
        call.finish_reason = str(entry["finish_reason"])
    notes = []
    for name in ("request", "response"):
        if name not in entry or entry[name] is None:
            continue
        body, note = decode_body(entry[name])
        setattr(call, name, body if isinstance(body, dict) else None)
        if note:
            notes.append(f"{name}: {note}")
    if call.request is None and call.response is None and not notes:
        notes.append("bodies not recorded (transcript bodies were turned off)")
    call.body_note = "; ".join(notes) or None
    return call


class LedgerIndex:
    """A results folder's ledger records by run id, read once however many pages ask."""

    def __init__(self) -> None:
        self._by_folder: dict[Path, dict[str, list[dict]]] = {}

    def records(self, results: Path, run_id: str) -> list[dict]:
        if results not in self._by_folder:
            index: dict[str, list[dict]] = {}
            for path in sorted((results / "ledger").glob("ledger.*.jsonl")):
                for rec in read_jsonl_records(path, limit=10**9) or []:
                    index.setdefault(str(rec.get("run_id")), []).append(rec)
            self._by_folder[results] = index
        return self._by_folder[results].get(run_id, [])


def routed_calls(folder: Path | None, results: Path, run_id: str, ledger: LedgerIndex) -> tuple[list[Call], str]:
    """The cell's calls in order and where they came from (said on the page)."""
    records = read_jsonl_records(folder / CALLS) if folder else None
    source = CALLS
    if records is None:
        records = ledger.records(results, run_id)[:MAX_CALLS]
        source = "the results folder's ledger (this cell folder has no calls.jsonl)"
    calls = [_call_from_ledger(r) for r in records]
    transcript = read_jsonl_records(folder / TRANSCRIPT) if folder else None
    if transcript is None:
        return calls, source + "; no transcript.jsonl: requests and responses not recorded"
    by_seq: dict[int | None, Call] = {c.seq: c for c in calls if c.seq is not None}
    merged = []
    for entry in transcript:
        seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
        base = by_seq.pop(seq, None) or Call(seq=seq, side="", purpose="agent", model="", reason="", status="")
        merged.append(_merge_transcript(base, entry))
    merged += by_seq.values()  # ledger records the transcript lacks (e.g. the router's own calls)
    merged.sort(key=lambda c: (c.seq is None, c.seq or 0))
    return merged, source + " and transcript.jsonl"


def _not_passed(test_output: str | None) -> list[str] | None:
    """The task's tests that did not pass, as test_output.txt lists them (cell_story.py writes
    "not passed:" then one indented id a line); None without a test_output.txt to say so."""
    if test_output is None:
        return None
    lines = test_output.splitlines()
    if NOT_PASSED not in lines:
        return []
    ids = []
    for line in lines[lines.index(NOT_PASSED) + 1:]:
        if not line.startswith("  "):
            break
        ids.append(line.strip())
    return ids


def failing_tests(folder: Path | None, test_output: str | None) -> TestResults:
    """The task's tests that did not pass, with pytest's account of each from junit.xml.

    junit.xml also holds the two tests the scorer plants (one must fail): the list of the task's
    own failures comes from test_output.txt; a folder without one (older runs) shows every
    failure in junit.xml and says the planted one may be among them."""
    path = folder / JUNIT if folder else None
    if path is None or not path.is_file():
        return TestResults(source=None)
    if path.stat().st_size > MAX_TEXT_BYTES:
        return TestResults(source=JUNIT, problem=f"{JUNIT} is larger than {MAX_TEXT_BYTES} bytes: not read")
    cases = read_junit(path)
    if cases is None:
        return TestResults(source=JUNIT, problem=f"{JUNIT} cannot be parsed")
    by_id = {junit_test_id(c.key): c for c in cases}
    listed = _not_passed(test_output)
    if listed is not None:
        failing = [(test, by_id.get(test)) for test in listed]
        source = f"{TEST_OUTPUT}, details from {JUNIT}"
    else:
        failing = [(junit_test_id(c.key), c) for c in cases if c.verdict != "passed"]
        source = f"{JUNIT} (no {TEST_OUTPUT}: the scorer's planted failing test may be among them)"
    failures = [Failure(test, case.verdict if case else "not passed", case.detail.strip() if case else "")
                for test, case in failing[:MAX_FAILURES]]
    return TestResults(source=source, failures=failures)


def log_files(folder: Path | None, limit: int = 50) -> list[Path]:
    """The agent's own logs, relative to the cell folder."""
    if folder is None:
        return []
    logs = folder / "logs"
    if not logs.is_dir():
        return []
    return sorted(p.relative_to(folder) for p in logs.rglob("*") if p.is_file() and not p.is_symlink())[:limit]

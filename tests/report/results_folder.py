"""A results folder as a sweep leaves it, for the report tests: raw.jsonl (rows from the stats
tests' factory, validated against the real row model), the ledger, and cell folders whose files
come from the harness's own writers (patch.diff from real workspace snapshots, calls.jsonl from
real ledger records, junit.xml and test_output.txt from a real pytest run). transcript.jsonl
lines follow router/transcript.py's format, one body compressed under its marker.

Agent output is adversarial: a diff line, a tool result, a response and a failing test's message
carry ``HOSTILE`` markup, which every page must show as text.
"""
from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

from pytest_arena.cell import story as cell_story
from pytest_arena.cell.rows import Row
from pytest_arena.router.contracts import LedgerRecord
from pytest_arena.router.ledger import record_json
from pytest_arena.router.transcript import GZIP_MARKER, TRANSCRIPT_VERSION
from pytest_arena.scoring.records import ScoreResult
from tests.stats.rowfactory import our_row, write_jsonl

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
LOCAL, CLOUD = "qwen3.6:35b", "gpt-5.5"
SIDES = {"always-cloud": ("cloud", "cloud"), "always-local": ("local", "local"), "cascade": ("local", "cloud")}
REASONS = {"always-cloud": "control: always-cloud", "always-local": "control: always-local",
           "cascade": "cascade: local answer scored 3 < threshold 7, escalated"}
OLD_RUN = "demo-old-run"  # a cell folder from before the story files: junit.xml and the workspace only

SOURCE = "def slugify(text):\n    return text\n"
FIXED = "def slugify(text):\n    return '-'.join(text.lower().split())\n"
BROKEN = "def slugify(text):\n    # " + HOSTILE + "\n    return text.lower()\n"
TESTS = ('from slug import slugify\n\n\ndef test_lower():\n    assert slugify("ab") == "ab"\n\n\n'
         'def test_spaces():\n    assert slugify("A b") == "a-b", "got ' + HOSTILE.replace('"', "'") + '"\n')


PLANTED = "def test_planted_must_fail():\n    assert 1 + 1 == 3\n"  # the scorer's check, not a task test


def _acceptance_run(workspace: Path, passed: bool) -> tuple[ScoreResult, Path]:
    """pytest on the workspace as the scorer runs it (xunit1, with its planted failing test):
    junit.xml plus its output."""
    junit = workspace / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
                           f"--junitxml={junit}", "test_slug.py", "test_qzplanted.py"],
                          cwd=workspace, capture_output=True, text=True, timeout=120)
    failures = [] if passed else ["test_slug.py::test_spaces"]
    result = ScoreResult(status="pass" if passed else "fail", tests_passed=2 if passed else 1, tests_total=2,
                         reason="2/2 tests passed" if passed else "1/2 tests passed", duration_s=0.4,
                         junit_path=junit, sandbox="bwrap", failures=failures, output=proc.stdout + proc.stderr)
    return result, junit


def acceptance_runs(root: Path) -> dict[bool, tuple[ScoreResult, Path]]:
    """One real passing and one real failing acceptance run, shared by every cell."""
    runs = {}
    for fixed in (True, False):
        workspace = root / f"acceptance-{'pass' if fixed else 'fail'}"
        workspace.mkdir(parents=True)
        (workspace / "slug.py").write_text(FIXED if fixed else BROKEN)
        (workspace / "test_slug.py").write_text(TESTS)
        (workspace / "test_qzplanted.py").write_text(PLANTED)
        runs[fixed] = _acceptance_run(workspace, fixed)
    return runs


def _records(run_id: str, strategy: str, ts: float) -> list[LedgerRecord]:
    records = []
    for seq, side in enumerate(SIDES[strategy]):
        records.append(LedgerRecord(
            run_id=run_id, seq=seq, ts=ts + seq, protocol="openai-chat", purpose="agent", strategy=strategy,
            choice=side, reason=REASONS[strategy], backend=side, model=LOCAL if side == "local" else CLOUD,
            prompt_tokens=900 + seq, completion_tokens=120, cost_usd=0.0 if side == "local" else 0.0081,
            upstream_ms=850.0, status="ok"))
    return records


def _transcript_line(rec: LedgerRecord, compress: bool) -> str:
    request = {"model": "agent-model", "messages": [
        {"role": "system", "content": "You are a coding agent.", "tool_calls": [], "tool_call_id": None, "name": None},
        {"role": "user", "content": "Make the tests in test_slug.py pass.", "tool_calls": [], "tool_call_id": None,
         "name": None},
        {"role": "tool", "content": f"$ cat slug.py\n{HOSTILE}", "tool_calls": [], "tool_call_id": "call_1",
         "name": "bash"}],
        "tools": [], "params": {"stream": True}, "extra": {}}
    response = {"text": f"Answer from the {rec.choice} model {HOSTILE}",
                "tool_calls": [{"id": "call_2", "name": "bash", "arguments": json.dumps({"command": "pytest -q"})}]}
    body = {GZIP_MARKER: base64.b64encode(gzip.compress(json.dumps(request).encode())).decode()} if compress \
        else request
    return json.dumps({
        "v": TRANSCRIPT_VERSION, "run_id": rec.run_id, "seq": rec.seq, "ts": rec.ts, "purpose": rec.purpose,
        "protocol": rec.protocol, "side": rec.choice, "forced": None, "backend": rec.backend, "model": rec.model,
        "strategy": rec.strategy, "reason": rec.reason, "stream": True, "status": rec.status, "error": None,
        "usage": {"prompt": rec.prompt_tokens, "completion": rec.completion_tokens, "cached": 0, "reasoning": 0},
        "cost_usd": rec.cost_usd, "finish_reason": "tool_calls", "request": body, "response": response})


def _cell_folder(cell_dir: Path, row: dict, records: list[LedgerRecord], acceptance, scratch: Path) -> None:
    """Every story file, made the way the runner makes them."""
    passed = row["outcome"] == "pass"
    workspace = scratch / row["run_id"]
    workspace.mkdir(parents=True)
    (workspace / "slug.py").write_text(SOURCE)
    (workspace / "test_slug.py").write_text(TESTS)
    before = cell_story.snapshot(workspace)
    (workspace / "slug.py").write_text(FIXED if passed else BROKEN)
    cell_dir.mkdir(parents=True)
    cell_story.write_patch(cell_dir, before, workspace)
    shutil.copytree(workspace, cell_dir / "workspace")
    (cell_dir / "logs").mkdir()
    (cell_dir / "logs" / "agent.stdout.log").write_text(f"agent log {HOSTILE}\n")
    scored, junit = acceptance[passed]
    shutil.copy2(junit, cell_dir / "junit.xml")
    cell_story.write_test_output(cell_dir, scored, None)
    cell_story.write_calls(cell_dir, records)
    (cell_dir / cell_story.TRANSCRIPT).write_text(
        "".join(_transcript_line(rec, compress=rec.seq == 1) + "\n" for rec in records))
    cell_story.write_row(cell_dir, row)


def _row(task: str, strategy: str, seed: int, passed: bool, index: int, **kwargs) -> dict:
    local_calls, cloud_calls = SIDES[strategy].count("local"), SIDES[strategy].count("cloud")
    row = our_row(task, strategy, seed, "pass" if passed else "fail", local=LOCAL, cloud=CLOUD,
                  calls=(local_calls, cloud_calls), local_tokens=(900 * local_calls, 120 * local_calls),
                  cloud_tokens=(900 * cloud_calls, 120 * cloud_calls), **kwargs)
    run_id = f"demo-{index:04d}"
    row["quality"].update(tests_passed=2 if passed else 1, tests_total=2, composite=1.0 if passed else 0.5)
    row["error"] = None if passed else f"1/2 tests passed; test_slug.py::test_spaces: AssertionError: got {HOSTILE}"
    row.update(run_id=run_id, output_ref=f"cells/{run_id}",
               node_id="configs/demo.yaml::" + row["node_id"].split("::")[1],
               started_at=f"2026-11-27T10:{index % 60:02d}:00+00:00",
               finished_at=f"2026-11-27T10:{index % 60:02d}:40+00:00",
               sandbox={"agent": "bwrap", "scoring": "bwrap"})
    Row.model_validate(row)
    return row


# (class, agent, strategy, passes per task and seed)
PLAN = [
    ("refactors", "aider", "always-cloud", [[True, True], [True, True], [True, False], [True, True]]),
    ("refactors", "aider", "always-local", [[False, False], [True, False], [False, False], [False, False]]),
    ("refactors", "aider", "cascade", [[True, True], [True, False], [True, False], [True, True]]),
    ("puzzles", "mini-swe-agent", "always-cloud", [[True], [True], [True]]),
    ("puzzles", "mini-swe-agent", "cascade", [[True], [False], [True]]),
]


def build_results(root: Path) -> Path:
    """``root/results``: a finished sweep's folder (the report is written into it by the analysis)."""
    results = root / "results"
    acceptance = acceptance_runs(root / "acceptance")
    rows, ledger = [], []
    for task_class, agent, strategy, passes in PLAN:
        for t, seeds in enumerate(passes):
            for s, passed in enumerate(seeds):
                task = f"{'real-dev' if task_class == 'refactors' else 'exercism'}/t{t:02d}"
                row = _row(task, strategy, 40 + s, passed, len(rows), agent=agent, task_class=task_class,
                           cost_usd=0.0081 * SIDES[strategy].count("cloud"))
                records = _records(row["run_id"], strategy, 1_796_000_000.0 + 10 * len(rows))
                _cell_folder(results / row["output_ref"], row, records, acceptance, root / "scratch")
                rows.append(row)
                ledger += records
    old = _row("real-dev/t09", "cascade", 40, False, len(rows), agent="aider", task_class="refactors")
    old.update(run_id=OLD_RUN, output_ref=f"cells/{OLD_RUN}")
    (results / "cells" / OLD_RUN / "workspace").mkdir(parents=True)
    shutil.copy2(acceptance[False][1], results / "cells" / OLD_RUN / "junit.xml")
    old_records = _records(OLD_RUN, "cascade", 1_796_100_000.0)
    rows.append(old)
    ledger += old_records
    (results / "ledger").mkdir(parents=True)
    (results / "ledger" / "ledger.main.jsonl").write_bytes(b"".join(record_json(r) for r in ledger))
    write_jsonl(results / "raw.jsonl", rows)
    return results

"""A row stays small however many calls its cell made: the per-call detail is capped and says
where the rest is (calls.jsonl keeps every call). Once, 10,000 calls made a 311 KB row."""
from __future__ import annotations

from pytest_arena.cell.runner import ROW_PER_CALL_MAX, per_call_backends
from pytest_arena.router.contracts import LedgerRecord


def _record(seq: int, purpose: str = "agent") -> LedgerRecord:
    return LedgerRecord(run_id="r", seq=seq, ts=0.0, protocol="openai", purpose=purpose, strategy="always-local",
                        choice="local", reason="always-local", backend="ollama/q", model="q:1")


def test_the_row_details_its_first_calls_and_counts_the_rest():
    listed = per_call_backends([_record(i) for i in range(10_000)])
    assert len(listed) == ROW_PER_CALL_MAX + 1 == 201
    assert listed[0] == "call_0/local/q:1" and listed[ROW_PER_CALL_MAX - 1] == "call_199/local/q:1"
    assert listed[-1] == "... 9800 more calls: see calls.jsonl"
    assert sum(len(entry) for entry in listed) < 5_000


def test_a_cell_under_the_cap_lists_every_call_with_its_purpose():
    assert per_call_backends([_record(0), _record(1, "classifier")]) == ["call_0/local/q:1",
                                                                         "call_1/local/q:1/classifier"]

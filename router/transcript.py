"""transcript.jsonl: what each routed call asked and answered, as the router saw it.

One JSON object per call, the same calls as the ledger (the agent's and the router's own
classifier and embedding calls, same ``run_id`` and ``seq``), with the canonical request and the
canonical response. A run asks for one with ``RunSpec.transcript_path``; the plugin points it into
the cell folder, so it travels with the cell from any host. The format is documented in
pytest_arena/analysis/report/SCHEMA.md ("transcript.jsonl"); ``read_transcript`` is its reader.

Nothing is serialised while a call streams: the record step keeps references (the request, the
events the call's OutputMeter already saw, its ledger record) and a callback the event loop runs
between requests writes them, as the ledger does. Secrets (the run's token, the API keys its
backends hold) are replaced by ``***`` before anything reaches the file, compressed or not.
"""
from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_arena.router.contracts import (
    CanonicalRequest,
    CanonicalResponse,
    Finish,
    LedgerRecord,
    RunSpec,
    TextDelta,
    ToolCallDelta,
)
from pytest_arena.router.jsonfast import dumps, loads
from pytest_arena.router.meter import OutputMeter, RecordingMeter

TRANSCRIPT_VERSION = 1
BODY_INLINE_MAX = 16 * 1024  # bytes of a body's JSON kept inline; a bigger body is stored gzip'd
GZIP_MARKER = "gzip_base64"  # a compressed body is {"gzip_base64": "<base64 of the gzip'd JSON>"}
SCRUBBED = "***"
FLUSH_INTERVAL_S = 0.2


class Transcript:
    """One run's transcript file; used from the router's event loop only. ``secrets`` gives what
    must never be written (the run's token, its backends' API keys), asked at each write: a key
    is loaded when a side is first prepared."""

    def __init__(self, path: Path, bodies: bool, secrets: Callable[[], list[str]]):
        self.secrets = secrets
        self.path = path
        self.bodies = bodies
        self._pending: list[tuple[LedgerRecord, Any, Any]] = []
        self._scheduled = False
        self._closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")

    def meter(self) -> OutputMeter:
        """The meter of one call: a RecordingMeter when the transcript keeps bodies."""
        return RecordingMeter() if self.bodies else OutputMeter()

    def add(self, rec: LedgerRecord, request: Any = None, answer: Any = None) -> None:
        """Keep one call for the next write. ``request``: its CanonicalRequest (a list of texts for
        an embedding call); ``answer``: a CanonicalResponse, or (events, finish) of a streamed call."""
        if self._closed:  # a call that outlived its run's finish: the ledger file keeps it, the cell folder may be gone
            return
        self._pending.append((rec, request, answer))
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_INTERVAL_S, self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        secrets = self.secrets()
        lines = [scrub(self._line(*item, secrets), secrets) + b"\n" for item in pending]
        with open(self.path, "ab") as out:
            out.write(b"".join(lines))

    def close(self) -> None:
        """Write what is pending, then put the records in call order (``seq``): calls end out of
        order (a classifier call ends before the agent call that caused it)."""
        self.flush()
        self._closed = True
        lines = self.path.read_bytes().splitlines(keepends=True)
        lines.sort(key=lambda line: loads(line)["seq"])
        self.path.write_bytes(b"".join(lines))

    def _line(self, rec: LedgerRecord, request: Any, answer: Any, secrets: list[str]) -> bytes:
        """One record's JSON. The bodies are encoded once: measured against BODY_INLINE_MAX, then
        spliced into the line as they are."""
        entry = {
            "v": TRANSCRIPT_VERSION, "run_id": rec.run_id, "seq": rec.seq, "ts": rec.ts, "purpose": rec.purpose,
            "protocol": rec.protocol, "side": rec.choice, "forced": rec.forced, "backend": rec.backend,
            "model": rec.model, "strategy": rec.strategy, "reason": rec.reason, "stream": rec.stream,
            "status": rec.status, "error": rec.error,
            "usage": {"prompt": rec.prompt_tokens, "completion": rec.completion_tokens,
                      "cached": rec.cached_tokens, "reasoning": rec.reasoning_tokens},
            "cost_usd": rec.cost_usd, "finish_reason": _finish_reason(rec, answer),
        }
        line = dumps(entry)
        if not self.bodies:
            return line
        return b"".join((line[:-1], b',"request":', _body(_request_body(request), secrets),
                         b',"response":', _body(_response_body(answer), secrets), b"}"))


def open_transcript(spec: RunSpec, secrets: Callable[[], list[str]]) -> Transcript | None:
    """The run's transcript as its spec asks (``transcript_path``, ``transcript_bodies``), or None."""
    if not spec.transcript_path:
        return None
    return Transcript(Path(spec.transcript_path), spec.transcript_bodies, secrets)


def scrub(data: bytes, secrets: list[str]) -> bytes:
    for secret in secrets:
        data = data.replace(secret.encode(), SCRUBBED.encode())
    return data


def _body(body: Any, secrets: list[str]) -> bytes:
    """The body's JSON as it is (its line is scrubbed whole), or compressed, scrubbed first, once
    it passes BODY_INLINE_MAX."""
    if body is None:
        return b"null"
    data = dumps(body)
    if len(data) <= BODY_INLINE_MAX:
        return data
    data = scrub(data, secrets)
    return dumps({GZIP_MARKER: base64.b64encode(gzip.compress(data, compresslevel=6, mtime=0)).decode("ascii")})


def _request_body(request: Any) -> Any:
    if request is None:
        return None
    if isinstance(request, list):  # an embedding call: the texts
        return {"texts": request}
    req: CanonicalRequest = request
    return {
        "model": req.model,
        # the dataclasses themselves: encoded field for field in C by orjson (jsonfast's fallback
        # does the same), where dataclasses.asdict deep-copied every tool schema on every call
        "messages": req.messages,
        "tools": req.tools,
        "params": {"stream": req.stream, "max_tokens": req.max_tokens, "temperature": req.temperature,
                   "top_p": req.top_p, "seed": req.seed, "stop": req.stop, "tool_choice": req.tool_choice,
                   "include_usage": req.include_usage, "force": req.force},
        "extra": req.extra,
    }


def _response_body(answer: Any) -> Any:
    if answer is None:
        return None
    if isinstance(answer, CanonicalResponse):
        return {"text": answer.text, "tool_calls": answer.tool_calls}
    if isinstance(answer, dict):  # an embedding call's summary
        return answer
    from pytest_arena.router.canonical import ToolCallAssembler

    events, _ = answer
    text, tools = [], ToolCallAssembler()
    for ev in events or ():
        if isinstance(ev, TextDelta):
            text.append(ev.text)
        elif isinstance(ev, ToolCallDelta):
            tools.add(ev)
    return {"text": "".join(text), "tool_calls": tools.calls()}


def _finish_reason(rec: LedgerRecord, answer: Any) -> str | None:
    """How the answer ended: the backend's word, "length" for an answer a local guard cut, None
    when no answer came."""
    if isinstance(answer, CanonicalResponse):
        return answer.finish_reason
    if isinstance(answer, tuple) and answer[1] is not None:
        finish: Finish = answer[1]
        return finish.reason
    return "length" if rec.status == "truncated" else None


def load_body(value: Any) -> Any:
    """A body as written: inline JSON, or the compressed form decoded."""
    if isinstance(value, dict) and set(value) == {GZIP_MARKER}:
        return json.loads(gzip.decompress(base64.b64decode(value[GZIP_MARKER])))
    return value


def read_transcript(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a transcript.jsonl, in call order, bodies decoded."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            for key in ("request", "response"):
                if key in record:
                    record[key] = load_body(record[key])
            records.append(record)
    return records

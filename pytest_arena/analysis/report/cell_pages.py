"""One static page per run (``report/cells/<run_id>.html`` next to report.html): the row's facts,
the failing tests, the agent's diff and the routed conversation, each call marked local or cloud.

Pages are plain HTML without script (their CSP allows none): they open from file:// like the
report. Pages of runs no longer in the rows (superseded, or a re-analysis of fewer folders) are
removed, so a link never shows a stale run.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pytest_arena.analysis.report.cell_files import (
    JUNIT,
    Call,
    LedgerIndex,
    TestResults,
    failing_tests,
    log_files,
    read_text,
    routed_calls,
)
from pytest_arena.analysis.report.htmlkit import esc, facts, page
from pytest_arena.analysis.stats.formatting import usd
from pytest_arena.analysis.stats.loading import SOURCE_KEY
from pytest_arena.analysis.stats.observations import CellId, RowFormatError, observe
from pytest_arena.cell.story import CALLS, NOT_COPIED, NOT_EXTRACTED, PATCH, ROW, TEST_OUTPUT, TRANSCRIPT

if TYPE_CHECKING:
    from pytest_arena.analysis.compute import Analysis

PAGES_DIR = "report/cells"  # relative to the report's folder
LAST_MESSAGES = 2  # of each call's request: the newest ones are what the model answered
MAX_MESSAGE_CHARS = 4_000
CELL_FILES = (ROW, PATCH, CALLS, TRANSCRIPT, TEST_OUTPUT, JUNIT, NOT_COPIED, NOT_EXTRACTED)


@dataclass
class RunEntry:
    row: dict
    cell: CellId
    results: Path  # the results folder the row was read from
    folder: Path | None  # its cell folder, when it is there
    page: str  # the page, relative to the report's folder (a URL path)

    @property
    def run_id(self) -> str:
        return str(self.row.get("run_id"))


def _results_folder(row: dict, out_dir: Path) -> Path:
    """Rows read from a file carry ``file:line``; rows handed over in memory are the out_dir's."""
    source = row.get(SOURCE_KEY)
    if isinstance(source, str) and ":" in source:
        return Path(source.rsplit(":", 1)[0]).parent
    return out_dir


def _cell_folder(row: dict, results: Path) -> Path | None:
    ref = row.get("output_ref")
    if not isinstance(ref, str) or not ref:
        return None
    folder = (results / ref).resolve()
    inside = folder.is_relative_to(results.resolve())  # a row cannot point the page outside its results
    return folder if inside and folder.is_dir() else None


def _page_name(run_id: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)[:120] or "run"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    taken.add(name)
    return f"{PAGES_DIR}/{name}.html"


def collect_runs(analysis: Analysis, out_dir: Path) -> list[RunEntry]:
    """The runs the analysis counted (the last row of each cell key), in table order. Rows in the
    original project's format carry no run id or cell folder and get no page."""
    kept = {o.cell_key for o in analysis.observations.observations if o.cell_key}
    latest: dict[str, tuple[dict, CellId]] = {}
    for row in analysis.rows:
        key = row.get("cell_key")
        if key not in kept or not row.get("run_id"):
            continue
        try:
            latest[key] = (row, observe(row, "").cell)
        except RowFormatError:  # the analysis skipped it too (and warned)
            continue
    taken: set[str] = set()
    entries = []
    ordered = sorted(latest.values(), key=lambda rc: (rc[1], str(rc[0].get("task_id")), rc[0].get("seed") or 0))
    for row, cell in ordered:
        results = _results_folder(row, out_dir)
        entries.append(RunEntry(row, cell, results, _cell_folder(row, results), _page_name(str(row["run_id"]), taken)))
    return entries


def write_cell_pages(entries: list[RunEntry], out_dir: Path) -> None:
    pages = out_dir / PAGES_DIR
    pages.mkdir(parents=True, exist_ok=True)
    ledger = LedgerIndex()
    written = set()
    for entry in entries:
        path = out_dir / entry.page
        path.write_text(cell_page(entry, out_dir, ledger), encoding="utf-8")
        written.add(path.name)
    for stale in pages.glob("*.html"):
        if stale.name not in written:
            stale.unlink()


def _href(target: Path, page_dir: Path) -> str:
    """A relative link; any name works, bytes that are not UTF-8 included (percent-encoded)."""
    return quote(os.fsencode(Path(os.path.relpath(target, page_dir)).as_posix()))


def outcome_class(outcome: object) -> str:
    return "outcome-pass" if outcome == "pass" else "outcome-bad"


def row_value(row: dict, *path: str) -> object:
    """A nested field of a row, or None where any step is missing (older rows lack newer fields)."""
    value: object = row
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _row_facts(row: dict) -> list[tuple[str, str]]:
    def text(*path: str) -> str:
        value = row_value(row, *path)
        return "–" if value is None or value == "" else str(value)

    params = row.get("strategy_params") or {}
    pairs = [
        ("run id", text("run_id")), ("pytest node", text("node_id")),
        ("task", f"{text('task_id')} (class {text('category')}, shape {text('shape')})"),
        ("agent", f"{text('route')} {text('agent_version')} (exit code {text('agent_exit_code')})"),
        ("strategy", text("router_strategy") + (f" {json.dumps(params)}" if params else "")),
        ("local model", f"{text('local_model_id')} ({text('backend_kinds', 'local')})"),
        ("cloud model", f"{text('cloud_model_id')} ({text('backend_kinds', 'cloud')})"),
        ("router classifier", text("router_classifier_model_id")), ("seed", text("seed")),
        ("tests", f"{text('quality', 'tests_passed')}/{text('quality', 'tests_total')} passed"),
        ("cost", usd(row["cost_usd"]) if isinstance(row.get("cost_usd"), (int, float)) else "–"),
        ("tokens", f"local {text('tokens', 'local_prompt')} in + {text('tokens', 'local_completion')} out; "
                   f"cloud {text('tokens', 'cloud_prompt')} in + {text('tokens', 'cloud_completion')} out; "
                   f"cached {text('tokens', 'cached')}"),
        ("calls", f"{text('routing', 'total_calls')} (local {text('routing', 'local_calls')}, cloud "
                  f"{text('routing', 'cloud_calls')}; router's own {text('routing', 'router_calls')}); statuses "
                  f"{json.dumps(row_value(row, 'routing', 'statuses') or {})}"),
        ("time", f"wall {text('latency', 'wall_ms')} ms (agent {text('latency', 'agent_ms')}, scoring "
                 f"{text('latency', 'scoring_ms')}, router {text('latency', 'router_ms')})"),
        ("started / finished", f"{text('started_at')} / {text('finished_at')}"),
        ("sandbox", f"agent {text('sandbox', 'agent')}, tests {text('sandbox', 'scoring')}"),
        ("ran on", f"{text('provenance', 'host')} (worker {text('provenance', 'worker')})"),
        ("config", f"variant {text('variant')}, sha {text('config_sha')}"),
    ]
    if row.get("usage_mismatch"):
        pairs.append(("usage mismatch", str(row["usage_mismatch"])))
    if row_value(row, "scoring", "tampering_detected"):
        pairs.append(("tampering", text("scoring", "tampering")))
    return pairs


def _failures_section(row: dict, tests: TestResults, output: tuple[str | None, bool]) -> list[str]:
    parts = ["<h2>Failing tests</h2>"]
    passed, total = row_value(row, "quality", "tests_passed"), row_value(row, "quality", "tests_total")
    if tests.source is None:
        parts.append(f'<p class="note">no {JUNIT} in this cell folder (the acceptance tests did not run, or the '
                     "folder was not kept)</p>")
    elif tests.problem:
        parts.append(f'<p class="note">{esc(tests.problem)}</p>')
    elif not tests.failures:
        parts.append(f"<p>none: {esc(passed)}/{esc(total)} of the task's tests passed</p>")
    else:
        parts.append(f"<p>{len(tests.failures)} of the task's {esc(total)} test(s) did not pass "
                     f'<span class="note">(from {esc(tests.source)})</span></p><ul>')
        for f in tests.failures:
            details = f"<pre>{esc(f.details[-MAX_MESSAGE_CHARS:])}</pre>" if f.details else ""
            parts.append(f"<li><code>{esc(f.test)}</code> ({esc(f.verdict)}){details}</li>")
        parts.append("</ul>")
    text, cut = output
    if text is not None:
        note = " (cut: the file is longer)" if cut else ""
        parts.append(f"<details><summary>{TEST_OUTPUT}{esc(note)}</summary><pre>{esc(text)}</pre></details>")
    return parts


def _diff_line(line: str) -> str:
    css = ("diff-hunk" if line.startswith("@@") else "" if line.startswith(("+++", "---")) else
           "diff-add" if line.startswith("+") else "diff-del" if line.startswith("-") else "")
    return f'<span class="{css}">{esc(line)}</span>' if css else esc(line)


def _diff_section(folder: Path | None) -> list[str]:
    text, cut = read_text(folder / PATCH) if folder else (None, False)
    if text is None:
        return ["<h2>Diff</h2>", '<p class="note">no patch.diff in this cell folder (runs before pytest-arena '
                "wrote one): the final workspace is linked below</p>"]
    if not text.strip():
        return ["<h2>Diff</h2>", "<p>the agent changed nothing (patch.diff is empty)</p>"]
    note = '<p class="note">cut at 1 MB: open patch.diff for the rest</p>' if cut else ""
    body = "\n".join(_diff_line(line) for line in text.splitlines())
    return ["<h2>Diff</h2>", note, f'<pre class="diff">{body}</pre>']


def _clip(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[:MAX_MESSAGE_CHARS] + f"\n… ({len(text) - MAX_MESSAGE_CHARS} more characters)"


def _tool_calls(calls: object) -> str:
    if not isinstance(calls, list) or not calls:
        return ""
    lines = []
    for call in calls:
        if isinstance(call, dict):
            fn = call.get("function")
            if not isinstance(fn, dict):
                fn = call
            lines.append(f"{fn.get('name', '?')}({_clip(str(fn.get('arguments', '')))})")
    return "<p>tool calls:</p><pre>" + esc("\n".join(lines)) + "</pre>" if lines else ""


def _content(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_content(part.get("text", part.get("content", "")) if isinstance(part, dict) else part)
                         for part in value)
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _message(msg: object) -> str:
    if not isinstance(msg, dict):
        return f"<pre>{esc(_clip(_content(msg)))}</pre>"
    role = msg.get("role", "?")
    extra = f" → {msg['tool_call_id']}" if msg.get("tool_call_id") else ""
    return (f'<div class="message"><b>{esc(role)}{esc(extra)}</b><pre>{esc(_clip(_content(msg.get("content"))))}'
            f"</pre>{_tool_calls(msg.get('tool_calls'))}</div>")


def _request(request: dict | None) -> str:
    if request is None:
        return ""
    if isinstance(request.get("texts"), list):  # an embedding call
        texts = request["texts"]
        shown = "".join(f"<pre>{esc(_clip(_content(t)))}</pre>" for t in texts[-LAST_MESSAGES:])
        summary = f"embedding request: last of {len(texts)} text(s)"
        return f"<details open><summary>{esc(summary)}</summary>{shown}</details>"
    messages = request.get("messages")
    if not isinstance(messages, list):
        messages = []
    last = messages[-LAST_MESSAGES:]
    summary = f"request: last {len(last)} of {len(messages)} message(s)"
    return f"<details open><summary>{esc(summary)}</summary>{''.join(_message(m) for m in last)}</details>"


def _response(response: dict | None, finish_reason: str | None) -> str:
    if response is None:
        return ""
    finish = f" (finish: {finish_reason})" if finish_reason else ""
    if "text" not in response and "tool_calls" not in response:  # an embedding call's summary
        return f"<details open><summary>response</summary><pre>{esc(_clip(_content(response)))}</pre></details>"
    text = _content(response.get("text"))
    return (f"<details open><summary>response{esc(finish)}</summary><pre>{esc(_clip(text)) or '(no text)'}</pre>"
            f"{_tool_calls(response.get('tool_calls'))}</details>")


def _call(call: Call) -> str:
    side = call.side if call.side in ("local", "cloud") else "none"
    label = call.side.upper() if side != "none" else "SIDE ?"
    tokens = ("" if call.prompt_tokens is None
              else f" · {call.prompt_tokens:g} in + {call.completion_tokens or 0:g} out tokens")
    cost = "" if call.cost_usd is None else f" · {usd(call.cost_usd)}"
    took = "" if call.upstream_ms is None else f" · {call.upstream_ms:.0f} ms upstream"
    error = f" · error: {call.error}" if call.error else ""
    purpose = "" if call.purpose == "agent" else f" · {call.purpose} (the router's own call)"
    note = f'<p class="note">{esc(call.body_note)}</p>' if call.body_note else ""
    return (f'<div class="call {side}" data-side="{side}"><h3>#{esc(call.seq)} <span class="side side-{side}">'
            f"{esc(label)}</span> {esc(call.model)}{esc(purpose)} · {esc(call.status)}</h3>"
            f"<p>reason: {esc(call.reason) or '–'}{esc(tokens + cost + took + error)}</p>"
            f"{note}{_request(call.request)}{_response(call.response, call.finish_reason)}</div>")


def _conversation_section(entry: RunEntry, ledger: LedgerIndex) -> list[str]:
    calls, source = routed_calls(entry.folder, entry.results, entry.run_id, ledger)
    agent = [c for c in calls if c.purpose == "agent"]
    local = sum(c.side == "local" for c in agent)
    own = (f" and {len(calls) - len(agent)} of the router's own (classifier, embedding)"
           if len(agent) < len(calls) else "")
    cloud = sum(c.side == "cloud" for c in agent)
    summary = f"{len(agent)} agent call(s): {local} local, {cloud} cloud{own}; from {source}"
    parts = ["<h2>Routed conversation</h2>", f'<p class="note">{esc(summary)}</p>']
    if not calls:
        parts.append("<p>no routed calls recorded for this run</p>")
    parts += [_call(c) for c in calls]
    return parts


def _files_section(entry: RunEntry, page_dir: Path) -> list[str]:
    folder = entry.folder
    if folder is None:
        stored = row_value(entry.row, "artifacts", "stored")
        where = (f"left on host {row_value(entry.row, 'artifacts', 'host')} "
                 f"at {row_value(entry.row, 'artifacts', 'path')}"
                 if stored == "host" else "not in the results folder")
        return ["<h2>Cell folder</h2>", f'<p class="note">{esc(entry.row.get("output_ref"))}: {esc(where)}</p>']
    links = [f'<li><a href="{_href(folder / name, page_dir)}">{esc(name)}</a></li>'
             for name in CELL_FILES if (folder / name).is_file()]
    links += [f'<li><a href="{_href(folder / rel, page_dir)}">{esc(rel.as_posix())}</a></li>'
              for rel in log_files(folder)]
    if (folder / "workspace").is_dir():
        links.append(f'<li><a href="{_href(folder / "workspace", page_dir)}/">workspace/</a>'
                     " (the final workspace)</li>")
    return ["<h2>Cell folder</h2>", f'<p class="note">{esc(folder)}</p>', "<ul>" + "".join(links) + "</ul>"]


def cell_page(entry: RunEntry, out_dir: Path, ledger: LedgerIndex) -> str:
    row = entry.row
    page_dir = (out_dir / entry.page).parent
    outcome = row.get("outcome")
    title = f"{row.get('task_id')} · {row.get('route')} · {row.get('router_strategy')} · seed {row.get('seed')}"
    body = [f'<p><a href="{_href(out_dir / "report.html", page_dir)}">← report</a></p>',
            f"<h1>{esc(title)}</h1>",
            f'<p>outcome: <span class="{outcome_class(outcome)}">{esc(outcome)}</span>'
            + (f" — {esc(row['error'])}" if row.get("error") else "") + "</p>",
            facts(_row_facts(row))]
    output = read_text(entry.folder / TEST_OUTPUT) if entry.folder else (None, False)
    body += _failures_section(row, failing_tests(entry.folder, output[0]), output)
    body += _diff_section(entry.folder)
    body += _conversation_section(entry, ledger)
    body += _files_section(entry, page_dir)
    return page(f"{title} — pytest-arena", body)

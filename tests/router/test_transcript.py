"""transcript.jsonl through the real router: every routed call's canonical request and response in
call order, which side served it and why, the router's own calls marked, large bodies compressed,
secrets never written, bodies switchable off, and the standalone router's run kept too."""
from __future__ import annotations

import json
import signal

import httpx
import openai
import pytest
from fake_upstreams import TEXT

from pytest_arena.router.contracts import BackendSpec, RunSpec
from pytest_arena.router.service import RouterSettings, start_router
from pytest_arena.router.transcript import BODY_INLINE_MAX, GZIP_MARKER, read_transcript

PLANTED_KEY = "sk-planted-cloud-key-7f3a9c"
TOOLS = [{"type": "function", "function": {"name": "write_file", "description": "write a file", "parameters": {
    "type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}}}]


@pytest.fixture
def cloud_key(monkeypatch):
    monkeypatch.setenv("ARENA_TEST_TRANSCRIPT_KEY", PLANTED_KEY)
    return {"api_key_env": "ARENA_TEST_TRANSCRIPT_KEY"}


def test_every_call_is_transcribed_in_order_with_side_reason_and_bodies_and_no_secret(
        make_run, router, upstream, tmp_path, cloud_key):
    path = tmp_path / "transcript.jsonl"
    spec, ep = make_run("llm-classifier", transcript_path=str(path), cloud_kw=cloud_key, classifier=BackendSpec(
        kind="openai", model="gpt-5-nano", label="openai/classifier", base_url=upstream.base_url))
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)
    leak = f"my keys: {PLANTED_KEY} and {ep.api_key}"
    streamed = client.chat.completions.create(model=ep.model, messages=[{"role": "user", "content": leak}],
                                              tools=TOOLS, stream=True)
    assert [c for c in streamed]  # drained
    local = client.chat.completions.create(model="x!local", messages=[{"role": "user", "content": "say hi"}],
                                           temperature=0.2)
    assert local.choices[0].message.content == TEXT
    totals = router.finish_run(spec.run_id)

    raw = path.read_text()
    assert PLANTED_KEY not in raw and ep.api_key not in raw and "***" in raw
    records = read_transcript(path)
    assert [(r["seq"], r["purpose"]) for r in records] == [(0, "agent"), (1, "classifier"), (2, "agent")]
    assert [r["seq"] for r in records] == sorted(r.seq for r in totals.records)
    first, classifier, second = records
    assert (first["side"], first["backend"], first["stream"]) == ("cloud", "openai/gpt-5.5", True)
    assert first["reason"] == "llm-classifier: COMPLEX -> cloud" and first["status"] == "ok"
    assert first["request"]["messages"][0]["content"] == "my keys: *** and ***"
    assert first["request"]["tools"][0]["name"] == "write_file"
    assert first["response"]["tool_calls"][0]["name"] == "write_file" and first["finish_reason"] == "tool_calls"
    assert json.loads(first["response"]["tool_calls"][0]["arguments"]) == {"path": "hello.txt", "content": "hi"}
    assert first["usage"] == {"prompt": 11, "completion": 7, "cached": 3, "reasoning": 0}
    assert classifier["side"] == "cloud" and classifier["response"]["text"] == "COMPLEX"
    assert "SIMPLE or COMPLEX" in classifier["request"]["messages"][0]["content"]
    assert (second["side"], second["forced"], second["stream"]) == ("local", "local", False)
    assert second["response"] == {"text": TEXT, "tool_calls": []} and second["finish_reason"] == "stop"
    assert second["request"]["params"]["temperature"] == 0.2


def test_a_large_body_is_compressed_and_scrubbed_before_compression(make_run, router, tmp_path, cloud_key):
    path = tmp_path / "transcript.jsonl"
    spec, ep = make_run("always-cloud", transcript_path=str(path), cloud_kw=cloud_key)
    big = ("lorem ipsum " * 4000) + PLANTED_KEY + ep.api_key
    httpx.post(ep.openai_base + "/chat/completions", headers={"Authorization": f"Bearer {ep.api_key}"},
               json={"messages": [{"role": "user", "content": big}]}, timeout=30).raise_for_status()
    router.finish_run(spec.run_id)
    (line,) = path.read_text().splitlines()
    stored = json.loads(line)["request"]
    assert set(stored) == {GZIP_MARKER} and len(line) < BODY_INLINE_MAX  # compressed
    (record,) = read_transcript(path)
    content = record["request"]["messages"][0]["content"]
    assert content.startswith("lorem ipsum") and content.endswith("******")
    assert PLANTED_KEY not in content and ep.api_key not in content
    assert record["response"]["text"] == TEXT  # small bodies stay inline


def test_without_bodies_each_call_keeps_its_facts_only(make_run, router, tmp_path):
    path = tmp_path / "transcript.jsonl"
    spec, ep = make_run("always-local", transcript_path=str(path), transcript_bodies=False)
    httpx.post(ep.openai_base + "/chat/completions", headers={"Authorization": f"Bearer {ep.api_key}"},
               json={"messages": [{"role": "user", "content": "a private prompt"}]}, timeout=30).raise_for_status()
    router.finish_run(spec.run_id)
    (record,) = read_transcript(path)
    assert "request" not in record and "response" not in record and "a private prompt" not in path.read_text()
    assert (record["side"], record["status"], record["finish_reason"]) == ("local", "ok", "stop")


def test_the_standalone_routers_run_keeps_its_transcript_until_it_closes(upstream, tmp_path):
    path = tmp_path / "transcript.jsonl"
    local = BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url)
    with start_router(RouterSettings(unscoped_run_id="default")) as handle:
        handle.register_run(RunSpec(run_id="default", strategy="always-local", local=local, cloud=local,
                                    transcript_path=str(path)))
        httpx.post(f"{handle.base_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]},
                   timeout=30).raise_for_status()
    (record,) = read_transcript(path)
    assert record["run_id"] == "default" and record["response"]["text"] == TEXT


def test_python_m_router_writes_the_transcript_named_by_its_flag(upstream, tmp_path):
    path = tmp_path / "standalone-transcript.jsonl"
    with upstream.standalone_router("--transcript", str(path), stop_signal=signal.SIGINT) as proc:  # Ctrl-C at the end
        base = proc.stdout.readline().split(" on ")[1].split()[0]
        resp = httpx.post(base + "/v1/chat/completions", timeout=10,
                          json={"model": "m", "messages": [{"role": "user", "content": "standalone hello"}]})
        assert resp.json()["choices"][0]["message"]["content"] == TEXT
    (record,) = read_transcript(path)
    assert record["side"] == "local"
    assert "standalone hello" in json.dumps(record["request"])

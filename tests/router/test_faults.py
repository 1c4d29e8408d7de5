"""Fault injection: what the agent sees and what the ledger records when upstreams misbehave."""
from __future__ import annotations

import json
import socket
import time

import httpx
import openai
import pytest
from fake_upstreams import TEXT

from pytest_arena.router.contracts import BackendSpec, LocalGuards, RunSpec
from pytest_arena.router.errors import ConfigError
from pytest_arena.router.service import RouterSettings, start_router

HI = [{"role": "user", "content": "hi"}]


def _only_record(router, run_id):
    totals = router.finish_run(run_id)
    agent = [r for r in totals.records if r.purpose == "agent"]
    assert len(agent) == 1
    return agent[0]


def _chat(ep, **kw):
    return httpx.post(ep.openai_base + "/chat/completions", json={"model": ep.model, "messages": HI, **kw},
                      headers={"Authorization": f"Bearer {ep.api_key}"}, timeout=30)


def test_429_is_retried_then_answered(make_run, router, upstream):
    spec, ep = make_run("always-cloud", cloud=("openai", "429once-a"))
    resp = _chat(ep)
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == TEXT
    assert len(upstream.bodies("429once-a")) == 2
    assert _only_record(router, spec.run_id).status == "ok"


def test_500_after_retries_is_an_upstream_error(make_run, router, upstream):
    spec, ep = make_run("always-cloud", cloud=("openai", "500-a"))
    resp = _chat(ep)
    assert resp.status_code == 502 and "HTTP 500" in resp.json()["error"]["message"]
    assert len(upstream.bodies("500-a")) == 3  # max_retries=2 in the fixture
    rec = _only_record(router, spec.run_id)
    assert rec.status == "upstream_error" and "upstream exploded" in rec.error


def test_fallback_model_only_after_5xx_exhaustion_and_recorded(make_run, router, upstream):
    spec, ep = make_run("always-cloud", cloud=("openai", "500-b"), cloud_kw={"fallback_model": "gpt-5"})
    resp = _chat(ep)
    assert resp.status_code == 200
    rec = _only_record(router, spec.run_id)
    assert rec.model == "gpt-5" and rec.status == "ok"


def test_400_is_passed_through_without_any_fallback(make_run, router, upstream):
    # garbage JSON is a 200; a 4xx other than 401/403/429 must not switch models
    spec, ep = make_run("always-cloud", cloud=("anthropic", "garbage-x"), cloud_kw={"fallback_model": "gpt-5"})
    resp = _chat(ep)
    assert resp.status_code == 502 and "unparseable" in resp.json()["error"]["message"]
    rec = _only_record(router, spec.run_id)
    assert rec.status == "upstream_error" and rec.model == "garbage-x"
    assert upstream.bodies("gpt-5") == [] or all(b["model"] != "gpt-5" for b in upstream.bodies("garbage-x"))


def test_401_sets_fatal_error_and_never_leaks_the_key(upstream, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_CLOUD_KEY", "sk-very-secret-123")
    ledger = tmp_path / "ledger.jsonl"
    with start_router(RouterSettings(ledger_path=ledger, retry_backoff_s=0.01)) as router:
        cloud = BackendSpec(kind="openai", model="401-a", label="openai/401-a", base_url=upstream.base_url,
                            api_key_env="FAKE_CLOUD_KEY")
        local = BackendSpec(kind="ollama", model="qwen:fake", label="ollama/qwen", base_url=upstream.base_url)
        ep = router.register_run(RunSpec(run_id="auth", strategy="always-cloud", local=local, cloud=cloud))
        first = _chat(ep)
        assert first.status_code == 401
        assert "sk-very-secret-123" not in first.text and "FAKE_CLOUD_KEY" in first.text
        assert router.fatal_error and "HTTP 401" in router.fatal_error
        calls_before = len(upstream.bodies("401-a"))
        assert _chat(ep).status_code == 401  # refused without asking the upstream again
        assert len(upstream.bodies("401-a")) == calls_before == 1
        totals = router.finish_run("auth")
    assert totals.statuses == {"auth_error": 2}
    assert "sk-very-secret-123" not in ledger.read_text()


def test_missing_api_key_variable_is_one_clear_error(router, upstream, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    spec = RunSpec(run_id="nokey", strategy="always-cloud",
                   local=BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url),
                   cloud=BackendSpec(kind="openai", model="gpt-5.5", label="openai/keyless",
                                     api_key_env="NO_SUCH_KEY_VAR"))
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR is not set"):
        router.register_run(spec)


def test_key_from_env_file_is_sent(upstream, tmp_path, monkeypatch):
    monkeypatch.delenv("DOTENV_KEY", raising=False)
    env = tmp_path / ".env"
    env.write_text('# keys\nexport DOTENV_KEY="sk-from-dotenv"\n')
    with start_router(RouterSettings(env_file=env)) as router:
        cloud = BackendSpec(kind="anthropic", model="claude-haiku-4-5", label="anthropic/haiku",
                            base_url=upstream.base_url, api_key_env="DOTENV_KEY")
        local = BackendSpec(kind="ollama", model="q:1", label="ollama/q", base_url=upstream.base_url)
        ep = router.register_run(RunSpec(run_id="dotenv", strategy="always-cloud", local=local, cloud=cloud))
        assert _chat(ep).status_code == 200
    headers = [h for path, h, body in upstream.requests if body.get("model") == "claude-haiku-4-5"][-1]
    assert headers["x-api-key"] == "sk-from-dotenv"


def test_connection_refused_is_an_upstream_error(make_run, router):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead_port = sock.getsockname()[1]
    sock.close()
    spec, ep = make_run("always-local", local_kw={"base_url": f"http://127.0.0.1:{dead_port}"})
    resp = _chat(ep)
    assert resp.status_code == 502 and "unreachable" in resp.json()["error"]["message"]
    assert _only_record(router, spec.run_id).status == "upstream_error"


@pytest.mark.parametrize("kind,model", [("ollama", "hang-o:1"), ("openai", "hang-p"), ("anthropic", "hang-a")])
def test_stream_that_never_ends_is_cut_by_the_wall_timeout(make_run, router, kind, model):
    spec, ep = make_run("always-local", local=(kind, model), guards=LocalGuards(wall_timeout_s=0.5))
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)
    text = []
    with pytest.raises(openai.APIError, match="wall timeout"):
        for chunk in client.chat.completions.create(model=ep.model, messages=HI, stream=True):
            text.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "".join(text) == TEXT[:6]  # what arrived before the cut was delivered
    rec = _only_record(router, spec.run_id)
    assert rec.status == "timeout" and rec.completion_tokens == 1 and rec.prompt_tokens > 0


def test_wall_timeout_before_the_first_byte_is_a_504(make_run, router):
    spec, ep = make_run("always-local", local=("ollama", "hang-b:1"), guards=LocalGuards(wall_timeout_s=0.3))
    # non-streaming: the first event never completes the answer, so the whole call times out
    resp = _chat(ep, stream=False)
    assert resp.status_code == 504 and "wall timeout of 0.3 s" in resp.json()["error"]["message"]
    assert _only_record(router, spec.run_id).status == "timeout"


@pytest.mark.parametrize("kind,model", [("ollama", "cut-o:1"), ("openai", "cut-p"), ("anthropic", "cut-a")])
def test_stream_cut_in_the_middle_is_recorded(make_run, router, kind, model):
    spec, ep = make_run("always-local", local=(kind, model))
    lines = httpx.post(ep.openai_base + "/chat/completions", timeout=10, headers={"x-api-key": ep.api_key},
                       json={"model": ep.model, "messages": HI, "stream": True}).text.splitlines()
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    assert events[-1]["error"]["type"] == "upstream_error"  # the agent sees an error, not a clean end
    delivered = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert delivered and TEXT.startswith(delivered)
    rec = _only_record(router, spec.run_id)
    # the pieces that got through before the cut are counted (one token per streamed piece)
    assert rec.status == "upstream_error" and 1 <= rec.completion_tokens <= 2


def test_output_cap_truncates_and_sends_num_predict(make_run, router, upstream):
    guards = LocalGuards(max_output_tokens=64, num_ctx=16384, think=False, repeat_penalty=1.1)
    spec, ep = make_run("always-local", local=("ollama", "long-o:1"), guards=guards)
    resp = _chat(ep, max_tokens=32000, temperature=0.2, seed=7)
    assert resp.json()["choices"][0]["finish_reason"] == "length"
    options = upstream.bodies("long-o:1")[-1]["options"]
    assert options == {"num_ctx": 16384, "repeat_penalty": 1.1, "num_predict": 64, "temperature": 0.2, "seed": 7}
    assert upstream.bodies("long-o:1")[-1]["think"] is False
    rec = _only_record(router, spec.run_id)
    assert rec.status == "truncated" and rec.completion_tokens == 64


def test_a_smaller_caller_limit_is_not_a_truncation(make_run, router, upstream):
    spec, ep = make_run("always-local", local=("ollama", "long-p:1"), guards=LocalGuards(max_output_tokens=64))
    _chat(ep, max_tokens=10)
    assert upstream.bodies("long-p:1")[-1]["options"]["num_predict"] == 10
    assert _only_record(router, spec.run_id).status == "ok"


def test_one_megabyte_prompt_passes_through(make_run, router, upstream):
    spec, ep = make_run("always-cloud", cloud=("openai", "gpt-5-mini"))
    big = "x" * (1 << 20)
    resp = _chat(ep, messages=[{"role": "user", "content": big}])
    assert resp.status_code == 200
    assert upstream.bodies("gpt-5-mini")[-1]["messages"][0]["content"] == big
    assert _only_record(router, spec.run_id).status == "ok"


def test_embedded_llama_cpp_gets_the_guards_as_openai_fields(make_run, router, upstream):
    guards = LocalGuards(max_output_tokens=64, repeat_penalty=1.2)
    spec, ep = make_run("always-local", local=("embedded", "long-e"), guards=guards)
    list(openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key).chat.completions.create(
        model=ep.model, messages=HI, stream=True, max_tokens=32000))
    sent = upstream.bodies("long-e")[-1]
    assert (sent["max_tokens"], sent["repeat_penalty"], sent["stream_options"]) == (64, 1.2, {"include_usage": True})
    rec = _only_record(router, spec.run_id)
    assert rec.status == "truncated" and rec.completion_tokens == 64 and rec.stream


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_goes_away_frees_the_call(make_run, router, stream):
    """A killed agent must not leave a local model generating (holding its only slot) until the
    wall timeout: the call ends when the client disconnects and is recorded as client_error."""
    spec, ep = make_run("always-local", local=("ollama", f"hang-gone-{stream}:1"),
                        local_kw={"max_concurrency": 1}, guards=LocalGuards(wall_timeout_s=60))
    body = json.dumps({"model": "m", "messages": HI, "stream": stream}).encode()
    path = ep.openai_base.split("://", 1)[1].split("/", 1)[1] + "/chat/completions"
    sock = socket.create_connection(("127.0.0.1", router.port))
    sock.sendall(b"POST /%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (path.encode(), ep.api_key.encode(), len(body), body))
    if stream:
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")  # the first piece arrived
    else:
        time.sleep(0.3)  # the call is waiting on the upstream
    sock.close()
    started = time.monotonic()
    totals = router.finish_run(spec.run_id, timeout_s=10)
    assert time.monotonic() - started < 5
    assert totals.statuses == {"client_error": 1}

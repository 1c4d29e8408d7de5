"""Cloud API keys: read only when a run can route to the cloud, then held only in router memory."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import httpx
import pytest
from fake_upstreams import TEXT

from pytest_arena.router.contracts import BackendSpec, RunSpec
from pytest_arena.router.errors import ConfigError
from pytest_arena.router.keys import KEYS
from pytest_arena.router.service import RouterSettings, start_router

HI = [{"role": "user", "content": "hi"}]


def _specs(upstream, cloud_model: str, key_env: str, kind: str = "openai"):
    local = BackendSpec(kind="ollama", model="qwen:fake", label="ollama/qwen", base_url=upstream.base_url)
    cloud = BackendSpec(kind=kind, model=cloud_model, label=f"{kind}/{cloud_model}", base_url=upstream.base_url,
                        api_key_env=key_env)
    return local, cloud


def _chat(ep, **kw):
    return httpx.post(ep.openai_base + "/chat/completions", json={"model": ep.model, "messages": HI, **kw},
                      headers={"Authorization": f"Bearer {ep.api_key}"}, timeout=30)


@pytest.mark.parametrize("kind,key_env", [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")])
def test_an_always_local_run_needs_no_cloud_key(upstream, tmp_path, monkeypatch, kind, key_env):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    local, cloud = _specs(upstream, "gpt-5.5" if kind == "openai" else "claude-sonnet-4-6", key_env, kind)
    with start_router(RouterSettings(ledger_path=tmp_path / "ledger.jsonl", env_file=tmp_path / "no.env")) as router:
        ep = router.register_run(RunSpec(run_id="local-only", strategy="always-local", local=local, cloud=cloud))
        resp = _chat(ep)
        assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == TEXT
        # Forcing the cloud in that run is where the key is first needed: one clear, recorded error.
        forced = _chat(ep, model="x!cloud")
        assert forced.status_code == 400 and f"{key_env} is not set" in forced.json()["error"]["message"]
        totals = router.finish_run("local-only")
    assert totals.statuses == {"ok": 1, "client_error": 1} and totals.cloud_calls == 1


def test_a_loaded_key_leaves_the_environment_and_no_later_subprocess_inherits_it(upstream, monkeypatch):
    monkeypatch.setenv("ARENA_TEST_KEY_A", "sk-test-secret-moves-to-memory")
    local, cloud = _specs(upstream, "gpt-key-a", "ARENA_TEST_KEY_A")
    with start_router(RouterSettings()) as router:
        router.register_run(RunSpec(run_id="local", strategy="always-local", local=local, cloud=cloud))
        assert os.environ.get("ARENA_TEST_KEY_A") == "sk-test-secret-moves-to-memory"  # not needed yet: untouched
        ep = router.register_run(RunSpec(run_id="cloud", strategy="always-cloud", local=local, cloud=cloud))
        assert "ARENA_TEST_KEY_A" not in os.environ
        child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('ARENA_TEST_KEY_A'))"],
                               env=os.environ, capture_output=True, text=True, check=True)
        assert child.stdout.strip() == "None"
        inherited = subprocess.run(["env"], capture_output=True, text=True, check=True)  # the default: inherit
        assert "sk-test-secret-moves-to-memory" not in inherited.stdout
        # the router still has it: the upstream receives it
        assert _chat(ep).status_code == 200
        sent = [h for _, h, body in upstream.requests if body.get("model") == "gpt-key-a"][-1]
        assert sent["authorization"] == "Bearer sk-test-secret-moves-to-memory"
        # and a later run (in this or another router of the process) finds it without the environment
        ep2 = router.register_run(RunSpec(run_id="cloud-2", strategy="always-cloud", local=local, cloud=cloud))
        assert _chat(ep2).status_code == 200
    assert KEYS.available("ARENA_TEST_KEY_A")  # what the plugin asks before starting a cell


def test_a_newer_environment_value_replaces_the_held_key(upstream, monkeypatch):
    local, cloud = _specs(upstream, "gpt-key-b", "ARENA_TEST_KEY_B")
    for value in ("sk-first-value", "sk-second-value"):
        monkeypatch.setenv("ARENA_TEST_KEY_B", value)
        with start_router(RouterSettings()) as router:
            ep = router.register_run(RunSpec(run_id="r", strategy="always-cloud", local=local, cloud=cloud))
            assert _chat(ep).status_code == 200
        sent = [h for _, h, body in upstream.requests if body.get("model") == "gpt-key-b"][-1]
        assert sent["authorization"] == f"Bearer {value}"


def test_a_key_with_a_line_break_is_refused_by_name_before_any_request(upstream, monkeypatch):
    """A key read from a file with its newline would end the Authorization header line early."""
    monkeypatch.setenv("ARENA_TEST_KEY_NL", "sk-line\nX-Injected: 1")
    local, cloud = _specs(upstream, "gpt-key-nl", "ARENA_TEST_KEY_NL")
    sent_before = len(upstream.requests)
    with start_router(RouterSettings()) as router:
        with pytest.raises(ConfigError, match="ARENA_TEST_KEY_NL contains a line break") as err:
            router.register_run(RunSpec(run_id="cloud", strategy="always-cloud", local=local, cloud=cloud))
    assert "sk-line" not in str(err.value)
    assert len(upstream.requests) == sent_before


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_the_key_never_reaches_the_ledger_the_log_or_the_agent(upstream, tmp_path, monkeypatch, caplog, kind):
    secret = f"sk-never-written-{kind}-0123456789"
    monkeypatch.setenv("ARENA_TEST_KEY_C", secret)
    caplog.set_level(logging.DEBUG)
    ledger = tmp_path / "ledger.jsonl"
    # 401-*: the fake upstream echoes the key it received in its error text
    local, cloud = _specs(upstream, f"401-leak-{kind}", "ARENA_TEST_KEY_C", kind)
    with start_router(RouterSettings(ledger_path=ledger, retry_backoff_s=0.01)) as router:
        ep = router.register_run(RunSpec(run_id="leak", strategy="always-cloud", local=local, cloud=cloud))
        resp = _chat(ep)
        streamed = httpx.post(ep.anthropic_base + "/v1/messages", headers={"x-api-key": ep.api_key}, timeout=30,
                              json={"model": "m", "max_tokens": 10, "messages": HI, "stream": True})
        totals = router.finish_run("leak")
        assert router.fatal_error and secret not in router.fatal_error
    assert resp.status_code == 401 and "HTTP 401" in resp.text and "ARENA_TEST_KEY_C" in resp.text
    echoed = [h for _, h, body in upstream.requests if body.get("model") == f"401-leak-{kind}"]
    assert echoed, "the upstream was called with the key"
    assert totals.statuses == {"auth_error": 2}
    files = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    for where in (resp.text, streamed.text, caplog.text, repr(totals), *files):
        assert secret not in where
    assert "***" in ledger.read_text()  # the echoed key was masked, not dropped silently

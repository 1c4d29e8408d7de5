"""Who may call a run: only a caller presenting the run's own token, over TCP or the Unix socket."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from fake_upstreams import TEXT

from pytest_arena.router.app import presents_token
from pytest_arena.router.contracts import BackendSpec, RunSpec
from pytest_arena.router.service import RouterSettings, start_router

HI = [{"role": "user", "content": "hi"}]
CHAT = {"model": "m", "messages": HI}

# (method, path under the run, body, the shape of the protocol's error body)
PROTECTED = [
    ("POST", "/v1/chat/completions", CHAT, "openai"),
    ("POST", "/v1/responses", {"model": "m", "input": "hi"}, "openai"),
    ("POST", "/v1/messages", {"model": "m", "max_tokens": 10, "messages": HI}, "anthropic"),
    ("POST", "/v1/messages/count_tokens", {"model": "m", "messages": HI}, "anthropic"),
    ("POST", "/api/chat", {**CHAT, "stream": False}, "ollama"),
    ("GET", "/v1/models", None, "openai"),
    ("GET", "/api/tags", None, "ollama"),
    ("POST", "/api/show", {"model": "m"}, "ollama"),
    ("GET", "/api/version", None, "ollama"),
]


def _error_message(shape: str, body: dict) -> str:
    if shape == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
        return body["error"]["message"]
    if shape == "ollama":
        return body["error"]
    assert body["error"]["type"] == "authentication_error"
    return body["error"]["message"]


@pytest.mark.parametrize("method,path,body,shape", PROTECTED, ids=[p[1] for p in PROTECTED])
@pytest.mark.parametrize("credential", ["none", "wrong bearer", "wrong x-api-key", "other run's token"])
def test_a_call_without_the_runs_token_is_refused_in_its_protocols_shape(make_run, router, method, path, body,
                                                                         shape, credential):
    spec, ep = make_run("always-local")
    _, other = make_run("always-local")
    headers = {"none": {}, "wrong bearer": {"Authorization": "Bearer sk-arena-guess"},
               "wrong x-api-key": {"x-api-key": ep.api_key[:-1]},
               "other run's token": {"Authorization": f"Bearer {other.api_key}"}}[credential]
    refused_before = router.unauthorized_calls
    resp = httpx.request(method, ep.ollama_base + path, json=body, headers=headers, timeout=10)
    assert resp.status_code == 401
    message = _error_message(shape, resp.json())
    assert "token is missing or wrong" in message and ep.api_key not in resp.text and other.api_key not in resp.text
    assert router.unauthorized_calls == refused_before + 1
    # the same call with the run's token goes through, and only it is in the run's totals
    ok = httpx.request(method, ep.ollama_base + path, json=body, headers={"x-api-key": ep.api_key}, timeout=10)
    assert ok.status_code == 200, ok.text
    routed = path in ("/v1/chat/completions", "/v1/responses", "/v1/messages", "/api/chat")
    totals = router.finish_run(spec.run_id)
    assert totals.statuses == ({"ok": 1} if routed else {})
    recorded = [json.loads(line) for line in router.ledger_path.read_text().splitlines() if line.strip()]
    assert len([r for r in recorded if r["run_id"] == spec.run_id]) == (1 if routed else 0)


def test_refused_calls_never_reach_the_upstream_or_the_ledger(make_run, router, upstream):
    spec, ep = make_run("always-cloud", cloud=("openai", "gpt-refused"))
    for _ in range(3):
        assert httpx.post(ep.openai_base + "/chat/completions", json=CHAT, timeout=10).status_code == 401
    assert upstream.bodies("gpt-refused") == []
    totals = router.finish_run(spec.run_id)
    assert totals.calls == 0 and totals.records == [] and totals.cost_usd == 0
    assert spec.run_id not in router.ledger_path.read_text()


def test_real_sdks_present_the_token_as_their_api_key(make_run, router):
    spec, ep = make_run("always-local")
    _, other = make_run("always-local")
    chat = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)  # Authorization: Bearer
    assert chat.chat.completions.create(model=ep.model, messages=HI).choices[0].message.content == TEXT
    claude = anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key, max_retries=0)  # x-api-key
    assert claude.messages.create(model=ep.model, max_tokens=10, messages=HI).content[0].text == TEXT
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=ep.openai_base, api_key=other.api_key, max_retries=0).chat.completions.create(
            model=ep.model, messages=HI)
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=ep.anthropic_base, api_key=other.api_key, max_retries=0).messages.create(
            model=ep.model, max_tokens=10, messages=HI)
    assert router.finish_run(spec.run_id).statuses == {"ok": 2}


def test_every_run_gets_its_own_unguessable_token(make_run):
    tokens = [make_run("always-local")[1].api_key for _ in range(20)]
    assert len(set(tokens)) == 20
    assert all(len(t) >= 32 and not t.startswith("-") for t in tokens)  # never read as a CLI flag
    _, ep = make_run("always-local")
    assert ep.api_key not in repr(ep)  # endpoints can be logged without the token


def test_an_unknown_run_is_still_a_404_whatever_the_token(make_run, router):
    _, ep = make_run("always-local")
    resp = httpx.post(router.base_url + "/run/nope/v1/chat/completions", json=CHAT,
                      headers={"Authorization": f"Bearer {ep.api_key}"})
    assert resp.status_code == 404 and "unknown run id 'nope'" in resp.json()["error"]["message"]


@pytest.mark.parametrize("headers,accepted", [
    ([(b"authorization", b"Bearer TOKEN")], True),
    ([(b"authorization", b"bearer TOKEN")], True),
    ([(b"authorization", b"TOKEN")], True),  # Ollama clients that send the bare key
    ([(b"x-api-key", b"TOKEN")], True),
    ([(b"x-api-key", b"wrong"), (b"authorization", b"Bearer TOKEN")], True),
    ([(b"authorization", b"Bearer TOKE")], False),  # a prefix of the token
    ([(b"authorization", b"Bearer TOKENX")], False),
    ([(b"x-api-key", b"")], False),
    ([(b"cookie", b"TOKEN")], False),
    ([], False),
])
def test_the_token_is_read_from_bearer_or_x_api_key_only(headers, accepted):
    assert presents_token(headers, b"TOKEN") is accepted


# ------------------------------------------------------------------------- the Unix socket
def test_a_call_over_the_unix_socket_reaches_its_run_and_is_recorded(make_run, router):
    spec, ep = make_run("always-local")
    path = ep.openai_base.split("://", 1)[1].split("/", 1)[1]  # run/<id>/v1
    with httpx.Client(transport=httpx.HTTPTransport(uds=router.uds_path), base_url="http://router",
                      timeout=10) as client:
        assert client.post(f"/{path}/chat/completions", json=CHAT).status_code == 401
        resp = client.post(f"/{path}/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {ep.api_key}"})
        assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == TEXT
    totals = router.finish_run(spec.run_id)
    assert totals.calls == 1 and totals.statuses == {"ok": 1}
    recorded = [json.loads(line) for line in router.ledger_path.read_text().splitlines() if line.strip()]
    assert [r["status"] for r in recorded if r["run_id"] == spec.run_id] == ["ok"]


def test_the_unix_socket_sits_in_a_private_directory_removed_on_close():
    router = start_router(RouterSettings())
    sock_path = Path(router.uds_path)
    folder = sock_path.parent
    try:
        assert stat.S_ISSOCK(sock_path.stat().st_mode)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == os.getuid()
        assert folder.parent == Path(__import__("tempfile").gettempdir())
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(sock_path))) as client:
            assert client.get("http://router/healthz").json()["ok"] is True
    finally:
        router.close()
    assert not sock_path.exists() and not folder.exists()


def test_a_chosen_socket_path_replaces_a_stale_socket_but_not_a_live_one(tmp_path):
    path = tmp_path / "r.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: what a killed router leaves
    with start_router(RouterSettings(uds_path=path)) as router:
        assert router.uds_path == str(path)
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path))) as client:
            assert client.get("http://router/healthz").status_code == 200
        with pytest.raises(RuntimeError, match="cannot listen on the Unix socket"):
            start_router(RouterSettings(uds_path=path))
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path))) as client:
            assert client.get("http://router/healthz").status_code == 200  # the first router still serves
    assert not path.exists()


# ------------------------------------------------------------------------- python -m pytest_arena.router
def _banner(proc: subprocess.Popen) -> list[str]:
    lines = []
    while not lines or not lines[-1].lstrip().startswith("ledger:"):
        lines.append(proc.stdout.readline())
        assert lines[-1], "the router exited before printing its banner"
    return lines


def test_python_m_router_with_a_token_requires_it_and_says_so(upstream, tmp_path):
    with upstream.standalone_router("--token", "my-debug-token") as proc:
        banner = _banner(proc)
        base = banner[0].split(" on ")[1].split()[0]
        assert any("every call must send the --token" in line for line in banner)
        uds = next(line for line in banner if "Unix socket:" in line).split()[2]
        assert httpx.post(base + "/v1/chat/completions", json=CHAT, timeout=10).status_code == 401
        assert httpx.post(base + "/run/default/v1/chat/completions", json=CHAT, timeout=10).status_code == 401
        ok = httpx.post(base + "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer my-debug-token"},
                        timeout=10)
        assert ok.json()["choices"][0]["message"]["content"] == TEXT
        with httpx.Client(transport=httpx.HTTPTransport(uds=uds)) as client:
            assert client.post("http://router/v1/messages", headers={"x-api-key": "my-debug-token"},
                               json={"model": "m", "max_tokens": 10, "messages": HI}).status_code == 200
    assert not Path(uds).parent.exists()  # `kill` closes it like Ctrl-C: no socket left in /tmp


def test_a_router_never_closed_leaves_no_socket_behind():
    # exits without close()
    script = "from pytest_arena.router.service import start_router; print(start_router().uds_path)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    uds = Path(out.stdout.strip())
    assert uds.name == "router.sock" and not uds.parent.exists()


def test_python_m_router_without_a_token_is_open_and_says_so(upstream):
    with upstream.standalone_router() as proc:
        banner = _banner(proc)
        base = banner[0].split(" on ")[1].split()[0]
        assert any("auth:" in line and "any process on this machine" in line and "--token" in line for line in banner)
        assert httpx.post(base + "/v1/chat/completions", json=CHAT, timeout=10).status_code == 200


def test_a_run_registered_beside_the_open_default_run_still_needs_its_token(upstream):
    local = BackendSpec(kind="ollama", model="qwen:fake", label="ollama/q", base_url=upstream.base_url)
    with start_router(RouterSettings(unscoped_run_id="default")) as router:
        router.register_run(RunSpec(run_id="default", strategy="always-local", local=local, cloud=local))
        ep = router.register_run(RunSpec(run_id="cell", strategy="always-local", local=local, cloud=local))
        assert httpx.post(router.base_url + "/v1/chat/completions", json=CHAT, timeout=10).status_code == 200
        assert httpx.post(ep.openai_base + "/chat/completions", json=CHAT, timeout=10).status_code == 401

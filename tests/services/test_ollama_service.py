"""Ollama lifecycle against a fake Ollama server (Ollama cannot be installed here), checked with
the real `ollama` Python SDK so the fake's wire format is the real one."""
from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import ollama
import pytest

from pytest_arena.errors import ArenaError
from pytest_arena.sweep.services.ollama import OllamaUnavailable, ensure_ollama, probe
from tests.fakes import fake_ollama
from tests.fakes.fake_ollama import start_fake_ollama


@pytest.fixture(scope="module")
def fake():
    with start_fake_ollama(["qwen3:8b", "nomic-embed-text"], version="0.13.4") as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------- the fake itself
def test_the_fake_speaks_ollama_to_the_official_client(fake):
    client = ollama.Client(host=fake.base_url)
    assert [m.model for m in client.list().models] == ["qwen3:8b", "nomic-embed-text:latest"]
    assert "tools" in client.show("qwen3:8b").capabilities

    reply = client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "hello there"}])
    assert reply.message.content == "echo: hello there" and reply.done and reply.eval_count == 3

    chunks = list(client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "a b c"}], stream=True))
    assert "".join(c.message.content for c in chunks) == "echo: a b c"
    assert [c.done for c in chunks] == [False] * 4 + [True] and chunks[-1].done_reason == "stop"

    tool = {"type": "function", "function": {"name": "write", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}
    called = client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "x.txt"}], tools=[tool])
    assert called.message.tool_calls[0].function.name == "write"
    assert called.message.tool_calls[0].function.arguments == {"path": "x.txt"}

    embedded = client.embed(model="nomic-embed-text", input=["one", "two"]).embeddings
    assert len(embedded) == 2 and embedded[0] != embedded[1]
    assert abs(sum(x * x for x in embedded[0]) - 1.0) < 1e-9
    assert client.embeddings(model="nomic-embed-text", prompt="one").embedding == embedded[0]

    with pytest.raises(ollama.ResponseError) as missing:
        client.chat(model="llama3:70b", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.status_code == 404


# ----------------------------------------------------------------------------- probe
def test_probe_reads_the_version_or_returns_none(fake):
    assert probe(fake.base_url) == "0.13.4"
    assert probe(fake.base_url + "/v1") == "0.13.4"  # an OpenAI-style base points at the same server
    assert probe(f"http://127.0.0.1:{free_port()}") is None  # nothing listening
    assert probe(fake.base_url + "/not-ollama") is None  # something answers, but not Ollama (404)


# ----------------------------------------------------------------------------- ensure_ollama
def test_a_running_server_with_every_model_pulled_is_ready(fake):
    status = ensure_ollama(fake.base_url, ["qwen3:8b", "nomic-embed-text:latest", "nomic-embed-text"])
    assert status.version == "0.13.4" and not status.started and status.process is None
    assert "qwen3:8b" in status.models


def test_a_missing_model_names_the_pull_command(fake):
    with pytest.raises(OllamaUnavailable) as err:
        ensure_ollama(fake.base_url, ["qwen3:8b", "qwen3.6:35b"])
    assert str(err.value) == (f"model qwen3.6:35b is not pulled on the Ollama server at {fake.base_url}: "
                              "run `ollama pull qwen3.6:35b`")
    assert isinstance(err.value, ArenaError)


def test_no_server_and_no_binary_is_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `ollama` anywhere on PATH
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(OllamaUnavailable) as err:
        ensure_ollama(url, ["qwen3:8b"])
    assert str(err.value) == (f"Ollama is not running at {url} and no `ollama` binary was found: "
                              "install Ollama or point models.local_base_url at a running server")


def fake_binary(bindir: Path, body: str) -> None:
    bindir.mkdir(exist_ok=True)
    script = bindir / "ollama"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_ollama_serve_is_started_when_the_binary_exists(tmp_path, monkeypatch):
    fake_binary(tmp_path / "bin", f'exec "{sys.executable}" "{fake_ollama.__file__}" "$@"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_OLLAMA_MODELS", "qwen3:8b")
    url = f"http://127.0.0.1:{free_port()}"
    assert probe(url) is None
    status = ensure_ollama(url, ["qwen3:8b"])
    try:
        assert status.started and status.version == "0.13.4"
        assert "fake ollama listening" in status.log_path.read_text()
        assert ensure_ollama(url, ["qwen3:8b"]).started is False  # second session: already running
    finally:
        status.stop()
    assert probe(url) is None


def test_a_binary_whose_server_never_answers_is_reported_with_its_log(tmp_path, monkeypatch):
    fake_binary(tmp_path / "bin", 'echo "Error: listen tcp: bind: permission denied"\nexit 1\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(OllamaUnavailable, match=r"did not answer within 1 s .*bind: permission denied"):
        ensure_ollama(url, ["qwen3:8b"], start_timeout_s=1.0)


def test_start_if_missing_false_does_not_start(tmp_path, monkeypatch):
    fake_binary(tmp_path / "bin", "exit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(OllamaUnavailable, match="starting it was turned off"):
        ensure_ollama(f"http://127.0.0.1:{free_port()}", [], start_if_missing=False)


def test_a_url_that_is_not_http_is_named_in_the_message():
    with pytest.raises(OllamaUnavailable, match=r"models.local_base_url '127.0.0.1:11434' is not an http\(s\) URL"):
        ensure_ollama("127.0.0.1:11434", ["qwen3:8b"])

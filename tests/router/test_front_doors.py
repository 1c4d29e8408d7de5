"""Real client SDKs (openai, anthropic, ollama) against the router, answered by fake upstreams."""
from __future__ import annotations

import json

import anthropic
import httpx
import ollama
import openai
import pytest
from fake_upstreams import TEXT

BACKENDS = {"ollama": ("ollama", "qwen:fake"), "openai": ("openai", "gpt-5.5"),
            "anthropic": ("anthropic", "claude-sonnet-4-6")}
TOOL = {"name": "write_file", "description": "Write a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                       "required": ["path", "content"]}}


def _run_for(make_run, backend_name):
    """A run whose chosen side is the named backend (always-local for ollama, always-cloud otherwise)."""
    if backend_name == "ollama":
        return make_run("always-local", local=BACKENDS["ollama"])
    return make_run("always-cloud", cloud=BACKENDS[backend_name])


def _tool_messages_seen(upstream, model):
    """What the upstream received on the last call: the tool result and the id it answers."""
    return upstream.bodies(model)[-1]


# ------------------------------------------------------------------------- OpenAI chat
def test_openai_chat_json_text_is_untouched_and_routing_goes_to_headers(make_run, router, upstream):
    spec, ep = make_run("always-local")
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    raw = client.chat.completions.with_raw_response.create(model=ep.model, messages=[{"role": "user", "content": "hi"}])
    resp = raw.parse()
    assert resp.choices[0].message.content == TEXT  # no banner, no nudge
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens == 11 and resp.usage.completion_tokens == 7
    assert raw.headers["x-arena-choice"] == "local"
    assert raw.headers["x-arena-strategy"] == "always-local"
    assert raw.headers["x-arena-backend"] == "ollama/qwen:fake"
    assert raw.headers["x-arena-run"] == spec.run_id
    # nothing added on the way up either: no system nudge, no reminder
    assert upstream.bodies("qwen:fake")[-1]["messages"] == [{"role": "user", "content": "hi"}]


def test_openai_chat_stream_with_usage_and_content_arrays(make_run):
    _, ep = make_run("always-cloud")
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    stream = client.chat.completions.create(
        model=ep.model, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "text", "text": "two"}]}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT
    assert chunks[-1].usage.prompt_tokens == 11 and chunks[-1].usage.prompt_tokens_details.cached_tokens == 3


def test_force_suffix_overrides_the_strategy(make_run, upstream):
    _, ep = make_run("always-local")
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    raw = client.chat.completions.with_raw_response.create(model="whatever!cloud",
                                                            messages=[{"role": "user", "content": "hi"}])
    assert raw.headers["x-arena-choice"] == "cloud"
    assert raw.parse().model == "whatever"  # the suffix never leaks back


@pytest.mark.parametrize("backend_name", list(BACKENDS))
def test_openai_chat_streaming_tool_call_round_trip(make_run, upstream, backend_name):
    _, ep = _run_for(make_run, backend_name)
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    messages = [{"role": "user", "content": "create hello.txt"}]
    stream = client.chat.completions.create(model=ep.model, messages=messages, stream=True,
                                            tools=[{"type": "function", "function": TOOL}])
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or ():
                slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = tc.id or slot["id"]
                slot["name"] += (tc.function.name or "") if tc.function else ""
                slot["arguments"] += (tc.function.arguments or "") if tc.function else ""
    assert finish == "tool_calls"
    call = calls[0]
    assert call["name"] == "write_file" and isinstance(call["arguments"], str)
    assert json.loads(call["arguments"]) == {"path": "hello.txt", "content": "hi"}
    assert call["id"]
    messages += [{"role": "assistant", "content": None, "tool_calls": [
                     {"id": call["id"], "type": "function",
                      "function": {"name": call["name"], "arguments": call["arguments"]}}]},
                 {"role": "tool", "tool_call_id": call["id"], "content": "written"}]
    resp = client.chat.completions.create(model=ep.model, messages=messages,
                                          tools=[{"type": "function", "function": TOOL}])
    assert resp.choices[0].message.content == TEXT
    sent = upstream.bodies(BACKENDS[backend_name][1])[-1]["messages"]
    if backend_name == "ollama":  # Ollama wants argument objects
        assert sent[1]["tool_calls"][0]["function"]["arguments"] == {"path": "hello.txt", "content": "hi"}
        assert sent[2] == {"role": "tool", "content": "written", "tool_name": "write_file"}
    elif backend_name == "openai":
        assert sent[1]["tool_calls"][0]["id"] == call["id"] and sent[2]["tool_call_id"] == call["id"]
    else:
        assert sent[1]["content"][0] == {"type": "tool_use", "id": call["id"], "name": "write_file",
                                         "input": {"path": "hello.txt", "content": "hi"}}
        assert sent[2]["content"][0]["tool_use_id"] == call["id"]


# ------------------------------------------------------------------------- OpenAI Responses
@pytest.mark.parametrize("backend_name", list(BACKENDS))
def test_responses_streaming_tool_call_round_trip(make_run, upstream, backend_name):
    _, ep = _run_for(make_run, backend_name)
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    tools = [{"type": "function", **TOOL}]
    with client.responses.stream(model=ep.model, input="create hello.txt", instructions="You are codex.",
                                 tools=tools) as stream:
        final = stream.get_final_response()
    call = final.output[0]
    assert call.type == "function_call" and call.name == "write_file"
    assert json.loads(call.arguments) == {"path": "hello.txt", "content": "hi"}
    resp = client.responses.create(model=ep.model, tools=tools, instructions="You are codex.", input=[
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "create hello.txt"}]},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "written"}])
    assert resp.output_text == TEXT
    assert resp.usage.input_tokens == 11


def test_responses_text_stream_events(make_run):
    _, ep = make_run("always-local")
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    events = list(client.responses.create(model=ep.model, input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == TEXT
    assert [e.sequence_number for e in events] == list(range(len(events)))


# ------------------------------------------------------------------------- Anthropic
@pytest.mark.parametrize("backend_name", list(BACKENDS))
def test_anthropic_streaming_tool_use_round_trip(make_run, upstream, backend_name):
    _, ep = _run_for(make_run, backend_name)
    client = anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key)
    tools = [{"name": TOOL["name"], "description": TOOL["description"], "input_schema": TOOL["parameters"]}]
    messages = [{"role": "user", "content": "create hello.txt"}]
    with client.messages.stream(model=ep.model, max_tokens=1000, messages=messages, tools=tools,
                                system="You are Claude Code.") as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    block = final.content[0]
    assert block.type == "tool_use" and block.input == {"path": "hello.txt", "content": "hi"}
    messages += [{"role": "assistant", "content": [b.model_dump() for b in final.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "written"}]}]
    resp = client.messages.create(model=ep.model, max_tokens=1000, messages=messages, tools=tools)
    assert resp.content[0].text == TEXT and resp.stop_reason == "end_turn"
    assert resp.usage.input_tokens + resp.usage.cache_read_input_tokens == 11


def test_anthropic_beta_query_head_and_count_tokens(make_run, router):
    spec, ep = make_run("always-local")
    assert httpx.head(ep.anthropic_base + "/", headers={"x-api-key": ep.api_key}).status_code == 200
    assert httpx.head(router.base_url + "/").status_code == 200
    client = anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key)
    resp = client.beta.messages.create(model=ep.model, max_tokens=100, messages=[{"role": "user", "content": "hi"}])
    assert resp.content[0].text == TEXT
    counted = client.messages.count_tokens(model=ep.model, messages=[{"role": "user", "content": "x" * 400}])
    assert counted.input_tokens == 100


# ------------------------------------------------------------------------- Ollama
@pytest.mark.parametrize("backend_name", list(BACKENDS))
def test_ollama_streaming_tool_call_round_trip(make_run, upstream, backend_name):
    _, ep = _run_for(make_run, backend_name)
    client = ollama.Client(host=ep.ollama_base, headers={"Authorization": f"Bearer {ep.api_key}"})
    tools = [{"type": "function", "function": TOOL}]
    messages = [{"role": "user", "content": "create hello.txt"}]
    parts = list(client.chat(model=ep.model, messages=messages, tools=tools, stream=True))
    calls = [tc for p in parts for tc in (p.message.tool_calls or ())]
    assert len(calls) == 1 and calls[0].function.name == "write_file"
    assert calls[0].function.arguments == {"path": "hello.txt", "content": "hi"}  # an object, not a string
    assert parts[-1].done
    messages += [{"role": "assistant", "content": "", "tool_calls": [calls[0].model_dump()]},
                 {"role": "tool", "content": "written", "tool_name": "write_file"}]
    resp = client.chat(model=ep.model, messages=messages, tools=tools, stream=False)
    assert resp.message.content == TEXT and resp.prompt_eval_count == 11


def test_ollama_discovery_endpoints(make_run):
    _, ep = make_run("always-local")
    client = ollama.Client(host=ep.ollama_base, headers={"Authorization": f"Bearer {ep.api_key}"})
    names = [m.model for m in client.list().models]
    assert names == [ep.model + ":latest"]
    assert "tools" in client.show(ep.model).capabilities
    version = httpx.get(ep.ollama_base + "/api/version",
                        headers={"Authorization": f"Bearer {ep.api_key}"}).json()["version"]
    assert tuple(int(x) for x in version.split(".")) >= (0, 13, 4)


# ------------------------------------------------------------------------- service endpoints
def test_models_health_and_unknown_run(make_run, router):
    _, ep = make_run("heuristic")
    models = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key).models.list()
    assert [m.id for m in models] == ["arena-heuristic"]
    assert httpx.get(router.base_url + "/healthz").json()["ok"] is True
    bad = httpx.post(router.base_url + "/run/nope/v1/chat/completions", json={"messages": []})
    assert bad.status_code == 404 and "unknown run id 'nope'" in bad.json()["error"]["message"]


def test_invalid_request_is_rejected_and_recorded(make_run, router):
    spec, ep = make_run("always-local")
    bad = httpx.post(ep.openai_base + "/chat/completions", content=b"{not json",
                     headers={"Authorization": f"Bearer {ep.api_key}"})
    assert bad.status_code == 400 and "invalid openai-chat request" in bad.json()["error"]["message"]
    totals = router.finish_run(spec.run_id)
    assert totals.statuses == {"client_error": 1}


def test_wrong_method_and_unknown_path_get_json_404(make_run, router):
    _, ep = make_run("always-local")
    wrong = httpx.get(ep.openai_base + "/chat/completions")
    assert wrong.status_code == 404 and "GET /run/" in wrong.json()["error"]["message"]
    assert httpx.post(router.base_url + "/v2/nothing", json={}).status_code == 404


@pytest.mark.parametrize("backend_name", ["openai", "anthropic"])
def test_anthropic_system_entry_inside_messages_is_accepted(make_run, upstream, backend_name):
    # claude-code 2.1.x sends extra system text as messages[1] with role "system".
    _, ep = _run_for(make_run, backend_name)
    resp = httpx.post(ep.anthropic_base + "/v1/messages?beta=true", headers={"x-api-key": ep.api_key}, json={
        "model": ep.model, "max_tokens": 50, "system": "You are the agent.",
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "system", "content": [{"type": "text", "text": "Agent types: general."}]},
                     {"role": "user", "content": "go on"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["content"][0]["text"] == TEXT
    sent = json.dumps(upstream.bodies(BACKENDS[backend_name][1])[-1])
    assert "Agent types: general." in sent and "You are the agent." in sent


@pytest.mark.parametrize("backend_name", ["ollama", "openai"])
def test_the_cells_seed_reaches_backends_that_take_one(make_run, upstream, backend_name):
    if backend_name == "ollama":
        _, ep = make_run("always-local", local=BACKENDS["ollama"], seed=42)
    else:
        _, ep = make_run("always-cloud", cloud=BACKENDS["openai"], seed=42)
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key)
    client.chat.completions.create(model=ep.model, messages=[{"role": "user", "content": "hi"}])
    body = upstream.bodies(BACKENDS[backend_name][1])[-1]
    assert (body["options"]["seed"] if backend_name == "ollama" else body["seed"]) == 42
    client.chat.completions.create(model=ep.model, seed=7, messages=[{"role": "user", "content": "hi"}])
    body = upstream.bodies(BACKENDS[backend_name][1])[-1]
    assert (body["options"]["seed"] if backend_name == "ollama" else body["seed"]) == 7  # the agent's own wins

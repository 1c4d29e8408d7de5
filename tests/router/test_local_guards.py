"""The local output cap is counted, not only requested: an upstream that ignores max_tokens is cut
at the cap, the agent's answer ends the way its protocol ends a capped answer, and the ledger
records ``truncated`` with the tokens actually received."""
from __future__ import annotations

import anthropic
import httpx
import ollama
import openai
import pytest

from pytest_arena.router.contracts import BackendSpec, LocalGuards, RunSpec
from tests.fakes.fake_ollama import RUNAWAY_TOKENS, start_fake_ollama

HI = [{"role": "user", "content": "write forever"}]
CAP = 50
# A short wall timeout: without the cap being counted, these calls would end on it instead.
GUARDS = LocalGuards(max_output_tokens=CAP, wall_timeout_s=3.0)


@pytest.fixture(scope="module")
def runaway_ollama():
    fake = start_fake_ollama(["runaway:1"])
    yield fake
    fake.stop()


@pytest.fixture
def ollama_run(router, runaway_ollama, upstream):
    def make(run_id):
        spec = RunSpec(run_id=run_id, strategy="always-local", guards=GUARDS,
                       local=BackendSpec(kind="ollama", model="runaway:1", label="ollama/runaway",
                                         base_url=runaway_ollama.base_url),
                       cloud=BackendSpec(kind="openai", model="gpt-5.5", label="openai/gpt-5.5",
                                         base_url=upstream.base_url))
        return spec, router.register_run(spec)
    return make


def _only_record(router, run_id):
    (rec,) = router.finish_run(run_id).records
    return rec


def _assert_cut_at_the_cap(rec):
    assert rec.status == "truncated", (rec.status, rec.error)
    assert "output cap of 50 tokens" in rec.error
    # the tokens actually received: the cap's worth, not the wall timeout's worth
    assert CAP <= rec.completion_tokens <= CAP * 1.5


def _openai_chat(ep):
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)
    chunks = list(client.chat.completions.create(model=ep.model, messages=HI, stream=True,
                                                 stream_options={"include_usage": True}))
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"]
    assert chunks[-1].usage.completion_tokens >= CAP  # the usage chunk closes the stream
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def _anthropic(ep):
    client = anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key, max_retries=0)
    with client.messages.stream(model=ep.model, max_tokens=10_000, messages=HI) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert message.stop_reason == "max_tokens"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    return message.content[0].text


def _ollama(ep):
    parts = list(ollama.Client(host=ep.ollama_base, headers={"Authorization": f"Bearer {ep.api_key}"}).chat(
        model=ep.model, messages=HI, stream=True))
    assert parts[-1].done and parts[-1].done_reason == "length"
    return "".join(p.message.content for p in parts)


def _responses(ep):
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)
    events = list(client.responses.create(model=ep.model, input="write forever", stream=True))
    final = events[-1]
    assert final.type == "response.incomplete" or final.response.status == "incomplete"
    return final.response.output_text


@pytest.mark.parametrize("front_door", [_openai_chat, _anthropic, _ollama, _responses],
                         ids=["openai-chat", "anthropic", "ollama", "openai-responses"])
def test_a_stream_that_ignores_the_cap_is_cut_and_closed_in_the_agents_protocol(router, ollama_run, front_door):
    spec, ep = ollama_run(f"runaway-{front_door.__name__}")
    text = front_door(ep)
    assert text.startswith("word word") and len(text.split()) < CAP * 1.5
    _assert_cut_at_the_cap(_only_record(router, spec.run_id))


def test_an_upstreams_running_usage_counts_before_the_estimate(make_run, router):
    # three tokens a chunk: the chunk count alone would let the answer run to three times the cap
    spec, ep = make_run("always-local", local=("openai", "runaway-usage-x"), guards=GUARDS)
    resp = httpx.post(ep.openai_base + "/chat/completions", headers={"Authorization": f"Bearer {ep.api_key}"},
                      json={"messages": HI, "stream": True}, timeout=30)
    assert '"finish_reason":"length"' in resp.text and resp.text.rstrip().endswith("data: [DONE]")
    rec = _only_record(router, spec.run_id)
    _assert_cut_at_the_cap(rec)
    assert rec.completion_tokens <= CAP + 3 and rec.prompt_tokens == 11  # the upstream's own counts


def test_a_whole_answer_over_the_cap_is_recorded_truncated(router, ollama_run):
    spec, ep = ollama_run("runaway-whole")
    answer = ollama.Client(host=ep.ollama_base, headers={"Authorization": f"Bearer {ep.api_key}"}).chat(
        model=ep.model, messages=HI, stream=False)
    assert answer.message.content.count("word") == RUNAWAY_TOKENS  # already generated: delivered as is
    rec = _only_record(router, spec.run_id)
    assert rec.status == "truncated" and rec.completion_tokens == RUNAWAY_TOKENS
    assert "ignored the local output cap" in rec.error


def test_an_answer_within_the_cap_is_not_cut(make_run, router):
    spec, ep = make_run("always-local", guards=LocalGuards(max_output_tokens=7, wall_timeout_s=3.0))
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)
    chunks = list(client.chat.completions.create(model=ep.model, messages=HI, stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]
    rec = _only_record(router, spec.run_id)
    assert rec.status == "ok" and rec.completion_tokens == 7

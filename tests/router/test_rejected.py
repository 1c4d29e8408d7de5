"""A provider refusing a request's content (HTTP 400 context_length_exceeded, the usual way an agent
overflows its model's context) is the agent's or the model's failure: the agent sees the provider's
400, the ledger records ``rejected``, and the cell is a measured ``fail`` in the pass-rate
denominator, never an ``infra_error`` left out of it. A 404 for an unknown model name stays an
infrastructure (configuration) error."""
from __future__ import annotations

import anthropic
import httpx
import openai
import pytest
from fake_upstreams import CONTEXT_MESSAGE

from pytest_arena.agents.base import AgentResult
from pytest_arena.cell.runner import decide_outcome
from pytest_arena.outcomes import Outcome
from pytest_arena.scoring.records import ScoreResult

HI = [{"role": "user", "content": "a very long prompt"}]


def _chat(ep, **kw):
    return httpx.post(ep.openai_base + "/chat/completions", json={"model": ep.model, "messages": HI, **kw},
                      headers={"Authorization": f"Bearer {ep.api_key}"}, timeout=30)


def _scored(passed: int, total: int = 3) -> ScoreResult:
    status = "pass" if passed == total else "fail"
    return ScoreResult(status=status, tests_passed=passed, tests_total=total, duration_s=0.1, junit_path=None,
                       sandbox="bwrap", reason=f"{passed}/{total} tests passed")


AGENT = AgentResult(exit_code=1, duration_s=2.0)


@pytest.mark.parametrize("stream", [False, True])
def test_a_context_overflow_reaches_the_agent_as_the_providers_400(make_run, router, upstream, stream):
    spec, ep = make_run("always-cloud", cloud=("openai", f"ctx400-agent-{stream}"))
    resp = _chat(ep, stream=stream)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "context_length_exceeded" in error["message"] and CONTEXT_MESSAGE in error["message"]
    assert len(upstream.bodies(f"ctx400-agent-{stream}")) == 1  # a content refusal is not retried
    router.finish_run(spec.run_id)


def test_the_agents_sdk_raises_its_bad_request_error(make_run, router):
    spec, ep = make_run("always-cloud", cloud=("openai", "ctx400-sdk"))
    client = openai.OpenAI(base_url=ep.openai_base, api_key=ep.api_key, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="maximum context length") as raised:
        client.chat.completions.create(model=ep.model, messages=HI)
    assert raised.value.type == "invalid_request_error"  # as the provider said, not an upstream failure
    router.finish_run(spec.run_id)


def test_anthropic_front_door_passes_the_400_too(make_run, router):
    spec, ep = make_run("always-cloud", cloud=("anthropic", "ctx400-claude"))
    client = anthropic.Anthropic(base_url=ep.anthropic_base, api_key=ep.api_key, max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="context_length_exceeded") as raised:
        client.messages.create(model=ep.model, max_tokens=100, messages=HI)
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    assert router.finish_run(spec.run_id).statuses == {"rejected": 1}


def test_rejected_calls_are_recorded_and_the_cell_is_a_fail_in_the_denominator(make_run, router):
    """Three of the run's calls overflow the context; the cell is a fail naming them, counted in
    the pass rate (before: upstream_error, an infra_error out of the denominator)."""
    spec, ep = make_run("always-cloud", cloud=("openai", "ctx400-cell"))
    assert [_chat(ep).status_code for _ in range(3)] == [400, 400, 400]
    totals = router.finish_run(spec.run_id)
    assert totals.statuses == {"rejected": 3}
    rec = totals.records[0]
    assert rec.status == "rejected" and rec.choice == "cloud"
    assert rec.error.startswith("upstream openai/ctx400-cell returned HTTP 400: context_length_exceeded: ")
    assert CONTEXT_MESSAGE in rec.error

    outcome, reason = decide_outcome(_scored(1), AGENT, totals, None)
    assert outcome is Outcome.FAIL and outcome.counts_in_pass_rate
    assert reason.startswith("3 call(s) rejected: upstream openai/ctx400-cell returned HTTP 400: "
                             "context_length_exceeded: This model's maximum context length")
    assert reason.endswith("; 1/3 tests passed")
    # an agent that got its work done despite a refused call still passes
    assert decide_outcome(_scored(3), AGENT, totals, None)[0] is Outcome.PASS


def test_an_unknown_model_is_still_an_infra_error(make_run, router, upstream):
    spec, ep = make_run("always-cloud", cloud=("openai", "404-no-such-model"))
    resp = _chat(ep)
    assert resp.status_code == 404 and "model_not_found" in resp.json()["error"]["message"]
    totals = router.finish_run(spec.run_id)
    assert totals.statuses == {"upstream_error": 1}
    outcome, reason = decide_outcome(_scored(0), AGENT, totals, None)
    assert outcome is Outcome.INFRA_ERROR and not outcome.counts_in_pass_rate
    assert "HTTP 404: model_not_found" in reason


def test_a_5xx_with_a_rejection_is_still_an_infra_error(make_run, router):
    """The harness broke on one call: the cell is not a measurement, whatever else was refused."""
    spec, ep = make_run("always-cloud", cloud=("openai", "ctx400-mixed"))
    assert _chat(ep).status_code == 400
    totals = router.finish_run(spec.run_id)
    spec2, ep2 = make_run("always-cloud", cloud=("openai", "500-mixed"))
    assert _chat(ep2).status_code == 502
    broken = router.finish_run(spec2.run_id)
    totals.statuses.update(broken.statuses)
    totals.records += broken.records
    assert decide_outcome(_scored(0), AGENT, totals, None)[0] is Outcome.INFRA_ERROR

"""A classifier call that times out is recorded as ``timeout`` (not ``ok``), and the decision it
fed says the classifier timed out: a real router, a classifier upstream slower than its timeout."""
from __future__ import annotations

import time

import httpx
import pytest
from fake_upstreams import SLOW_S

from pytest_arena.router.contracts import BackendSpec

TIMEOUT_S = 0.3


@pytest.mark.parametrize("strategy, params, fallback", [
    ("llm-classifier", {}, "local"),
    # threshold 1000: the heuristic is never sure, so cascade always asks the classifier
    ("cascade", {"cascade.threshold": 1000}, None),
])
def test_a_classifier_that_times_out_is_recorded_as_timeout_and_the_reason_says_so(
        make_run, router, upstream, strategy, params, fallback):
    spec, ep = make_run(strategy, strategy_params=params, classifier_timeout_s=TIMEOUT_S, classifier=BackendSpec(
        kind="openai", model="slow-classifier", label="openai/slow-classifier", base_url=upstream.base_url))
    started = time.monotonic()
    resp = httpx.post(ep.openai_base + "/chat/completions", headers={"Authorization": f"Bearer {ep.api_key}"},
                      json={"messages": [{"role": "user", "content": "Design a lock-free scheduler"}]}, timeout=30)
    assert resp.status_code == 200
    assert time.monotonic() - started < SLOW_S  # the call did not wait for the slow classifier
    totals = router.finish_run(spec.run_id)
    classifier = next(r for r in totals.records if r.purpose == "classifier")
    agent = next(r for r in totals.records if r.purpose == "agent")
    assert classifier.status == "timeout" and f"within {TIMEOUT_S:g} s" in classifier.error
    assert totals.statuses == {"ok": 1, "timeout": 1}
    assert "classifier timed out" in agent.reason and agent.status == "ok"
    if fallback:
        assert agent.choice == fallback
    else:
        assert "abstained" in agent.reason and "keeping" in agent.reason  # the heuristic's choice stands

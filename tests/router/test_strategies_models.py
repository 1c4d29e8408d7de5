"""The strategies that call a model: llm-classifier, cascade and embedding-knn.

The classifier and embedder are the callables the router hands in (``ctx.complete``,
``ctx.embed``); here they are fakes that record what they were asked, answer, fail or hang.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest

from pytest_arena.router.contracts import CanonicalRequest, CanonicalResponse, Message, ToolSpec
from pytest_arena.router.strategies import StrategyContext, decide, validate_params, warm_up
from pytest_arena.router.strategies.knn import CORPUS_PATH, FALLBACK_EMBEDDER, fallback_embed, load_corpus


def user_request(text: str, tools: int = 0, system: str = "") -> CanonicalRequest:
    messages = ([Message("system", system)] if system else []) + [Message("user", text)]
    return CanonicalRequest(protocol="openai-chat", model="m", messages=messages,
                            tools=[ToolSpec(f"t{i}") for i in range(tools)])


class FakeClassifier:
    """A classifier model: answers ``reply`` (or raises / sleeps) and records each request."""

    def __init__(self, reply: str = "SIMPLE", error: Exception | None = None, delay: float = 0.0):
        self.reply, self.error, self.delay = reply, error, delay
        self.requests: list[CanonicalRequest] = []

    async def __call__(self, req: CanonicalRequest) -> CanonicalResponse:
        self.requests.append(req)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return CanonicalResponse(text=self.reply, model="qwen3:0.6b")


def classify(name: str, req: CanonicalRequest, model: FakeClassifier, timeout: float = 10.0,
             **params):
    ctx = StrategyContext(params=validate_params(name, params), complete=model,
                          classifier_timeout_s=timeout)
    return asyncio.run(decide(name, req, ctx))


# ----------------------------------------------------------------------------- llm-classifier
@pytest.mark.parametrize("reply, choice, confidence", [
    ("COMPLEX", "cloud", 0.8),
    ("simple.", "local", 0.8),
    ("<think>\nIt is a rename.\n</think>\n\n**SIMPLE**", "local", 0.8),
    ("Complex", "cloud", 0.8),
    ("It depends on the codebase", "local", 0.4),
    ("", "local", 0.4),
])
def test_classifier_reply_decides(reply, choice, confidence):
    decision = classify("llm-classifier", user_request("Rename foo"), FakeClassifier(reply))
    assert (decision.choice, decision.confidence) == (choice, confidence), decision.reason


def test_classifier_request_is_deterministic_one_word_and_capped():
    model = FakeClassifier("SIMPLE")
    long_text = "Refactor " + "x" * 10_000
    classify("llm-classifier", user_request(long_text, system="agent system prompt"), model,
             **{"classifier.max_chars": 500})
    (sent,) = model.requests
    assert sent.temperature == 0 and sent.max_tokens == 4 and sent.stream is False
    assert sent.messages[0].role == "system"
    assert "SIMPLE" in sent.messages[0].content and "COMPLEX" in sent.messages[0].content
    assert "one word" in sent.messages[0].content
    assert sent.messages[1].content == long_text[:500]  # the last user message, not the agent prompt


def test_classifier_timeout_routes_local_and_says_so():
    slow = FakeClassifier("COMPLEX", delay=30)
    decision = classify("llm-classifier", user_request("Design a scheduler"), slow, timeout=0.05)
    assert (decision.choice, decision.confidence) == ("local", 0.3)
    assert "TimeoutError" in decision.reason and "0.05 s" in decision.reason
    assert decision.meta["failed"] is True


def test_classifier_error_is_named_in_the_reason():
    broken = FakeClassifier(error=ConnectionRefusedError("127.0.0.1:11434 refused"))
    decision = classify("llm-classifier", user_request("Design a scheduler"), broken)
    assert (decision.choice, decision.confidence) == ("local", 0.3)
    assert "ConnectionRefusedError: 127.0.0.1:11434 refused" in decision.reason


def test_classifier_error_finish_reason_counts_as_a_failure():
    class ErrorReply(FakeClassifier):
        async def __call__(self, req):
            return CanonicalResponse(text="upstream said 500", finish_reason="error")

    decision = classify("llm-classifier", user_request("x"), ErrorReply())
    assert decision.meta["failed"] and "upstream said 500" in decision.reason


@pytest.mark.parametrize("name", ["llm-classifier", "cascade"])
def test_warm_up_refuses_a_classifier_strategy_without_a_classifier(name):
    with pytest.raises(ValueError, match="needs a classifier model"):
        asyncio.run(warm_up(name, StrategyContext(params={})))


# ----------------------------------------------------------------------------- cascade
SURE_LOCAL = user_request("quick rename of a typo")  # legacy score -36: distance 61 > 15
UNSURE = user_request("Explain the parser", tools=3)  # agent path, first call: 15.x vs 12


def test_cascade_trusts_a_sure_heuristic_without_calling_the_classifier():
    model = FakeClassifier("COMPLEX")
    decision = classify("cascade", SURE_LOCAL, model)
    assert decision.choice == "local" and model.requests == []
    assert decision.meta["stage"] == "heuristic"


def test_cascade_agreement_raises_confidence():
    model = FakeClassifier("COMPLEX")
    decision = classify("cascade", UNSURE, model)
    heuristic_confidence = decision.meta["heuristic"]["distance"] / 30 + 0.5
    assert decision.choice == "cloud" and len(model.requests) == 1
    assert decision.confidence == pytest.approx(min(1, 0.5 + (heuristic_confidence + 0.8) / 4), abs=1e-3)


def test_cascade_disagreement_follows_the_classifier():
    decision = classify("cascade", UNSURE, FakeClassifier("SIMPLE"))
    assert decision.meta["heuristic_choice"] == "cloud"
    assert (decision.choice, decision.confidence) == ("local", pytest.approx(0.7))
    assert "overrules" in decision.reason


@pytest.mark.parametrize("model", [FakeClassifier(error=OSError("down")), FakeClassifier("maybe")])
def test_cascade_keeps_the_heuristic_when_the_classifier_abstains(model):
    decision = classify("cascade", UNSURE, model)
    assert decision.choice == "cloud" and "abstained" in decision.reason


def test_cascade_threshold_sweep_asks_the_classifier_more_often():
    requests = [SURE_LOCAL, UNSURE, user_request("Design a comprehensive architecture plan"),
                user_request("x" * 1500, tools=2), user_request("convert this", tools=1)]
    asked = []
    for threshold in (0, 5, 15, 40, 100):
        model = FakeClassifier("SIMPLE")
        for req in requests:
            classify("cascade", req, model, **{"cascade.threshold": threshold})
        asked.append(len(model.requests))
    assert asked == sorted(asked) and asked[0] < asked[-1] == len(requests)


# ----------------------------------------------------------------------------- embedding-knn
LABELS, TEXTS = load_corpus()


class FakeEmbedder:
    """Corpus texts embed by their label ([1, 0] cloud, [0, 1] local); other texts by keyword."""

    def __init__(self, fail_corpus: bool = False, fail_queries: bool = False, dims: int = 2):
        self.fail_corpus, self.fail_queries, self.dims = fail_corpus, fail_queries, dims
        self.calls: list[list[str]] = []

    async def __call__(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        is_corpus = len(texts) > 1
        if (self.fail_corpus and is_corpus) or (self.fail_queries and not is_corpus):
            raise ConnectionError("embedding server unreachable")
        vectors = []
        for text in texts:
            if text in TEXTS:
                vectors.append([1.0, 0.0] if LABELS[TEXTS.index(text)] == "cloud" else [0.0, 1.0])
            elif "TIE" in text:
                vectors.append([1.0, 1.0])
            else:
                vectors.append([0.9, 0.1] if "design" in text.lower() else [0.1, 0.9])
        return [v + [0.0] * (self.dims - 2) for v in vectors]


def knn_context(embed=None, **params) -> StrategyContext:
    return StrategyContext(params=validate_params("embedding-knn", params), embed=embed,
                           embed_timeout_s=5)


def test_corpus_is_ours_balanced_and_large_enough():
    items = json.loads(CORPUS_PATH.read_text())
    assert len(items) >= 60
    assert LABELS.count("local") == LABELS.count("cloud")
    assert len(set(TEXTS)) == len(TEXTS)


def test_warm_up_embeds_the_corpus_once_in_one_call():
    embedder = FakeEmbedder()
    ctx = knn_context(embedder)
    asyncio.run(warm_up("embedding-knn", ctx))
    assert embedder.calls == [list(TEXTS)]
    for text in ("Design a storage engine", "Rename foo"):
        asyncio.run(decide("embedding-knn", user_request(text), ctx))
    assert [len(c) for c in embedder.calls] == [len(TEXTS), 1, 1]


def test_knn_votes_with_the_embedding_model():
    ctx = knn_context(FakeEmbedder())
    asyncio.run(warm_up("embedding-knn", ctx))
    cloud = asyncio.run(decide("embedding-knn", user_request("Design a storage engine"), ctx))
    local = asyncio.run(decide("embedding-knn", user_request("Rename foo"), ctx))
    assert (cloud.choice, local.choice) == ("cloud", "local")
    assert cloud.meta["embedder"] == "model" and cloud.confidence == 1.0
    assert len(cloud.meta["neighbours"]) == 5
    assert all(label == "cloud" for _, label, _ in cloud.meta["neighbours"])


def test_knn_tie_goes_local():
    ctx = knn_context(FakeEmbedder(), **{"knn.k": 2})
    decision = asyncio.run(decide("embedding-knn", user_request("TIE"), ctx))
    assert decision.meta["cloud_weight"] == decision.meta["local_weight"] > 0
    assert (decision.choice, decision.confidence) == ("local", 0.5)


def test_knn_without_warm_up_embeds_the_corpus_lazily_once():
    embedder = FakeEmbedder()
    ctx = knn_context(embedder)
    for _ in range(3):
        asyncio.run(decide("embedding-knn", user_request("Design it"), ctx))
    assert [len(c) for c in embedder.calls] == [len(TEXTS), 1, 1, 1]


def test_corpus_embedding_failure_switches_the_run_to_the_offline_fallback():
    embedder = FakeEmbedder(fail_corpus=True)
    ctx = knn_context(embedder)
    asyncio.run(warm_up("embedding-knn", ctx))
    decision = asyncio.run(decide("embedding-knn", user_request("Rename foo to bar"), ctx))
    assert decision.meta["embedder"] == FALLBACK_EMBEDDER
    assert "offline fallback" in decision.reason
    assert "ConnectionError: embedding server unreachable" in decision.reason
    assert len(embedder.calls) == 1  # the failed corpus call; queries never mix embedders


@pytest.mark.parametrize("embedder", [FakeEmbedder(fail_queries=True)])
def test_query_embedding_failure_falls_back_for_that_call(embedder):
    ctx = knn_context(embedder)
    asyncio.run(warm_up("embedding-knn", ctx))
    decision = asyncio.run(decide("embedding-knn", user_request("Rename foo"), ctx))
    assert decision.meta["embedder"] == FALLBACK_EMBEDDER
    assert "query embedding failed: ConnectionError" in decision.meta["fallback_reason"]


def test_query_with_other_dimensions_falls_back():
    class ChangedModel(FakeEmbedder):
        async def __call__(self, texts):
            vectors = await super().__call__(texts)
            return vectors if len(texts) > 1 else [vectors[0] + [0.0]]

    ctx = knn_context(ChangedModel())
    decision = asyncio.run(decide("embedding-knn", user_request("Rename foo"), ctx))
    assert "3 dimensions, corpus 2" in decision.meta["fallback_reason"]


def test_no_embedder_uses_the_offline_fallback_and_documents_it():
    decision = asyncio.run(decide("embedding-knn", user_request("Fix the typo in README"),
                                  knn_context()))
    assert decision.meta["embedder"] == FALLBACK_EMBEDDER
    assert decision.meta["fallback_reason"] == "no embedding model configured"


# Held-out phrasings (not in the corpus): the lexical fallback still separates the obvious cases.
HELD_OUT = [
    ("local", "Fix the typo in the README heading"),
    ("local", "Rename the variable cnt to count in stats.py"),
    ("local", "Remove the unused import in app.py"),
    ("local", "Change the default timeout from 30 to 60 seconds"),
    ("cloud", "Design a distributed job scheduler architecture with failover and leader election"),
    ("cloud", "Find the race condition that makes the websocket tests flaky under load"),
    ("cloud", "Review the security of the login flow and write a threat model"),
    ("cloud", "Implement a concurrent cache with expiry and explain the trade-offs"),
]


@pytest.mark.parametrize("label, text", HELD_OUT)
def test_offline_fallback_routes_held_out_requests(label, text):
    decision = asyncio.run(decide("embedding-knn", user_request(text), knn_context()))
    assert decision.choice == label, decision.meta["neighbours"]


def test_knn_k_param_sets_the_number_of_voters():
    decision = asyncio.run(decide("embedding-knn", user_request("Rename foo"),
                                  knn_context(**{"knn.k": 9})))
    assert decision.meta["k"] == 9 and len(decision.meta["neighbours"]) == 9


def test_offline_fallback_is_deterministic_across_processes():
    text = "Refactor the parser; explain why step by step"
    here = fallback_embed(text)
    assert np.array_equal(here, fallback_embed(text))
    assert np.linalg.norm(here) == pytest.approx(1.0)
    script = ("import sys, json; from pytest_arena.router.strategies.knn import fallback_embed; "
              f"print(json.dumps(fallback_embed({text!r}).tolist()))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
                         cwd=CORPUS_PATH.parents[2])
    assert np.array_equal(np.array(json.loads(out.stdout)), here)


def test_offline_fallback_similarity_tracks_shared_words():
    base = fallback_embed("fix the failing unit test in parser.py")
    near = fallback_embed("repair the failing test for the parser")
    far = fallback_embed("design a multi-region database replication architecture")
    assert base @ near > base @ far
    assert not fallback_embed("").any()

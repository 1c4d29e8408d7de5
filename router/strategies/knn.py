"""``embedding-knn``: the k nearest labelled examples vote, weighted by cosine similarity.

The corpus is ``router/data/knn_corpus.json`` (our own labelled coding-agent requests). With an
embedding model (``ctx.embed``) the corpus is embedded once by ``warm_up`` at run registration;
each call embeds only its query (the last user message, first ``knn.max_chars`` characters).

Offline fallback: with no embedder, or when the embedder fails, both corpus and query are
embedded with a deterministic hashed bag of words, word bigrams and character trigrams (numpy,
no server, no download). It is a lexical stand-in, not a semantic model, and every decision made
with it says so in its reason and in ``meta["embedder"]``. Corpus and query always come from the
same embedder.

Vote: cloud iff the summed similarity of cloud neighbours exceeds that of local neighbours (a tie
goes local); confidence = winner / (cloud + local). Negative similarities count as 0.
"""
from __future__ import annotations

import asyncio
import functools
import json
import re
import zlib
from pathlib import Path

import numpy as np

from pytest_arena.router.contracts import CanonicalRequest, Side
from pytest_arena.router.strategies.base import Decision, Strategy, StrategyContext
from pytest_arena.router.strategies.params import KNN, param
from pytest_arena.router.strategies.text import last_user_text

CORPUS_PATH = Path(__file__).resolve().parent.parent / "data" / "knn_corpus.json"
FALLBACK_EMBEDDER = "offline-hashed-ngrams"
FALLBACK_DIM = 2048  # a power of two: the low hash bits pick the slot, the top bit the sign
_WORD = re.compile(r"[a-z0-9_]+")
_STOPWORDS = frozenset(
    "a an and are as at be by for from in is it its of on or so that the this to was we with "
    "you your i me my our".split())

# ctx.state keys
_CORPUS_VECTORS = "knn.corpus_vectors"  # unit rows from ctx.embed
_CORPUS_ERROR = "knn.corpus_error"  # why ctx.embed could not embed the corpus (sticky per run)


@functools.lru_cache(maxsize=1)
def load_corpus(path: Path = CORPUS_PATH) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(labels, texts) of the shipped corpus; a malformed file names the bad entry."""
    items = json.loads(path.read_text(encoding="utf-8"))
    labels, texts = [], []
    for i, item in enumerate(items):
        if item.get("label") not in ("local", "cloud") or not str(item.get("text", "")).strip():
            raise ValueError(f"{path}: entry {i} needs label 'local'|'cloud' and a text: {item!r}")
        labels.append(item["label"])
        texts.append(item["text"])
    return tuple(labels), tuple(texts)


def fallback_embed(text: str, dim: int = FALLBACK_DIM) -> np.ndarray:
    """Deterministic unit vector of hashed words, word bigrams and character trigrams.

    crc32 (not Python's salted ``hash``) keeps vectors identical across processes and runs.
    """
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
    features = [(w, 1.0) for w in words]
    features += [(f"{a} {b}", 1.0) for a, b in zip(words, words[1:])]
    for word in words:
        padded = f"<{word}>"
        features += [(padded[i:i + 3], 0.5) for i in range(len(padded) - 2)]
    if not features:
        return np.zeros(dim)
    hashes = np.fromiter((zlib.crc32(f.encode()) for f, _ in features), dtype=np.uint64,
                         count=len(features))
    weights = np.fromiter((w for _, w in features), dtype=float, count=len(features))
    signs = np.where(hashes & 0x80000000, 1.0, -1.0)
    vector = np.bincount((hashes & (dim - 1)).astype(np.int64), weights=signs * weights,
                         minlength=dim)
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


@functools.lru_cache(maxsize=1)
def _fallback_corpus_vectors() -> np.ndarray:
    _, texts = load_corpus()
    return np.stack([fallback_embed(t) for t in texts])


def _unit_rows(vectors: list[list[float]], expected_rows: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != expected_rows or not np.isfinite(matrix).all():
        raise ValueError(f"embedder returned {matrix.shape} values, expected {expected_rows} "
                         f"finite vectors of one length")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: np.ndarray = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return unit


def vote(query: np.ndarray, corpus: np.ndarray, labels: tuple[str, ...], k: int) -> Decision:
    """The k-nearest-neighbour vote (reason without the strategy prefix)."""
    similarities = corpus @ query
    nearest = np.argsort(-similarities, kind="stable")[:k]
    cloud = float(sum(max(0.0, similarities[i]) for i in nearest if labels[i] == "cloud"))
    local = float(sum(max(0.0, similarities[i]) for i in nearest if labels[i] == "local"))
    choice: Side = "cloud" if cloud > local else "local"
    total = cloud + local
    confidence = max(cloud, local) / (total or 1.0)
    meta = {"k": k, "cloud_weight": round(cloud, 4), "local_weight": round(local, 4),
            "neighbours": [(int(i), labels[i], round(float(similarities[i]), 4)) for i in nearest]}
    reason = f"k={k} cloud {cloud:.3f} vs local {local:.3f} -> {choice}"
    return Decision(choice, reason, confidence, meta)


async def warm_up(ctx: StrategyContext) -> None:
    """Embed the corpus once per run. A failing embedder is remembered, and the run uses the
    offline fallback (never a mix of the two embedders)."""
    labels, texts = load_corpus()
    if ctx.embed is None:
        _fallback_corpus_vectors()
        return
    try:
        vectors = await ctx.embed(list(texts))
        ctx.state[_CORPUS_VECTORS] = _unit_rows(vectors, len(texts))
        ctx.state.pop(_CORPUS_ERROR, None)
    except Exception as exc:  # the run still routes, with the fallback, and says why
        ctx.state[_CORPUS_ERROR] = f"{type(exc).__name__}: {exc}"
        _fallback_corpus_vectors()


async def _server_vote(query_text: str, ctx: StrategyContext, k: int) -> tuple[Decision | None, str]:
    """(decision, "") with the embedding model, or (None, why not)."""
    if ctx.embed is None:
        return None, "no embedding model configured"
    if _CORPUS_VECTORS not in ctx.state and _CORPUS_ERROR not in ctx.state:
        await warm_up(ctx)  # warm_up was skipped: embed the corpus now, once
    if _CORPUS_ERROR in ctx.state:
        return None, f"corpus embedding failed: {ctx.state[_CORPUS_ERROR]}"
    labels, _ = load_corpus()
    try:
        vectors = await asyncio.wait_for(ctx.embed([query_text]), ctx.embed_timeout_s)
        query = _unit_rows(vectors, 1)[0]
        corpus = ctx.state[_CORPUS_VECTORS]
        if query.shape[0] != corpus.shape[1]:
            raise ValueError(f"query vector has {query.shape[0]} dimensions, corpus {corpus.shape[1]}")
    except TimeoutError:
        return None, f"query embedding failed: TimeoutError: no reply within {ctx.embed_timeout_s:g} s"
    except Exception as exc:
        return None, f"query embedding failed: {type(exc).__name__}: {exc}"
    decision = vote(query, corpus, labels, k)
    decision.reason = "embedding-knn: " + decision.reason
    decision.meta["embedder"] = "model"
    return decision, ""


async def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    k = param(ctx.params, "knn.k")
    query_text = last_user_text(req.messages)[: param(ctx.params, "knn.max_chars")]
    labels, _ = load_corpus()
    if not labels:
        return Decision("local", "embedding-knn: empty corpus -> local", 0.3, {"failed": True})
    decision, why_not = await _server_vote(query_text, ctx, k)
    if decision is not None:
        return decision
    decision = vote(fallback_embed(query_text), _fallback_corpus_vectors(), labels, k)
    prefix = f"embedding-knn[offline fallback {FALLBACK_EMBEDDER}: {why_not}]: "
    decision.reason = prefix + decision.reason
    decision.meta |= {"embedder": FALLBACK_EMBEDDER, "fallback_reason": why_not}
    return decision


# The embedder is optional: without models.embedding, ctx.embed is None and the vote uses the fallback.
STRATEGY = Strategy("embedding-knn", decide, params=KNN, needs=frozenset({"embedder"}), warm_up=warm_up)

"""A model name from the config (``models.local``, ``models.cloud``, ``models.router_classifier``,
``models.embedding``) resolved into the ``BackendSpec`` its calls go to: which backend kind, which
endpoint, which key variable.

The config names models the way users say them (``qwen3.6:35b``, ``claude-sonnet-4-6``,
``embedded/smollm2-135m``, ``scripted``); the router only knows backend kinds and URLs. This is the
one place that reads one as the other, for the session's services, the pricing check, the
controller's checks of its hosts and the standalone router.
"""
from __future__ import annotations

from pytest_arena.router.contracts import BackendSpec
from pytest_arena.sweep.config.schema import Models

__all__ = ["backend_spec"]


def backend_spec(name: str, models: Models, side: str, *, concurrency: int,
                 price_as: str | None = None) -> BackendSpec:
    """Resolve a model name from the config into where its calls go. ``price_as``: the model the
    scripted stand-in's cloud traffic is priced as (the primary pricing scenario's model)."""
    from pytest_arena.router.backends.base import backend_class  # which variable holds a kind's key

    raw = name.strip()
    low = raw.lower()
    if low == "scripted" or low.startswith("scripted/"):
        return BackendSpec(kind="scripted", model="scripted", label="scripted", max_concurrency=64,
                           price_as=price_as if side == "cloud" else None)
    if low.startswith("embedded/"):
        return BackendSpec(kind="embedded", model=raw.split("/", 1)[1], label=raw, max_concurrency=concurrency)
    if low.startswith("ollama/") or (":" in raw and not low.startswith(("openai/", "anthropic/"))):
        model = raw.split("/", 1)[1] if low.startswith("ollama/") else raw
        base = models.local_base_url
        base = base[: -len("/v1")] if base.rstrip("/").endswith("/v1") else base
        return BackendSpec(kind="ollama", model=model, label=f"ollama/{model}", base_url=base.rstrip("/"),
                           max_concurrency=concurrency)
    if low.startswith("anthropic/") or low.startswith("claude-"):
        model = raw.split("/", 1)[1] if "/" in raw else raw
        return BackendSpec(kind="anthropic", model=model, label=raw, base_url=models.anthropic_base_url,
                           api_key_env=backend_class("anthropic").api_key_env, max_concurrency=concurrency,
                           fallback_model=models.cloud_fallback if side == "cloud" else None)
    model = raw.split("/", 1)[1] if low.startswith("openai/") else raw
    base = models.cloud_base_url if side == "cloud" else models.local_base_url
    return BackendSpec(kind="openai", model=model, label=raw, base_url=base.rstrip("/"),
                       api_key_env=backend_class("openai").api_key_env if side == "cloud" else None,
                       max_concurrency=concurrency,
                       fallback_model=models.cloud_fallback if side == "cloud" else None)

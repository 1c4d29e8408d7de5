"""Backends: where a routed call is answered (Ollama, OpenAI-compatible, Anthropic, embedded, scripted)."""
from __future__ import annotations

from typing import Any

from pytest_arena.router.contracts import BackendSpec
from pytest_arena.router.errors import ConfigError, UpstreamConnectionError
from pytest_arena.router.backends.base import Backend
from pytest_arena.router.backends.http import HttpOptions


def http_options(settings: Any) -> HttpOptions:
    """The backend-relevant fields of a RouterSettings (or defaults when settings is None)."""
    if settings is None:
        return HttpOptions()
    return HttpOptions(max_retries=settings.max_retries, retry_backoff_s=settings.retry_backoff_s,
                       cloud_timeout_s=settings.cloud_timeout_s,
                       env_file=str(settings.env_file) if settings.env_file else None)


class UnstartedBackend(Backend):
    """A declared backend whose server was never started (the run's strategy does not route to it).
    A call that reaches it anyway (e.g. a !local suffix) fails with a clear, recorded error."""

    async def stream(self, req, call):
        raise UpstreamConnectionError(
            f"backend {self.spec.label!r} was not started for this run: its strategy "
            f"({call.run.strategy}) does not route to this side")
        yield  # pragma: no cover - makes this an async generator


def make_backend(spec: BackendSpec, settings: Any = None) -> Backend:
    """The backend for ``spec.kind``; ``settings`` is a RouterSettings (retries, timeouts, .env)."""
    if spec.kind == "scripted":
        from pytest_arena.router.backends.scripted import ScriptedBackend  # written separately; imported only when used

        return ScriptedBackend(spec)
    if spec.kind == "ollama":
        from pytest_arena.router.backends.ollama import OllamaBackend

        return OllamaBackend(spec, http_options(settings))
    if spec.kind in ("openai", "embedded"):
        if spec.kind == "embedded" and not spec.base_url:
            # The plugin starts the embedded server only for runs whose strategy can reach it.
            return UnstartedBackend(spec)
        from pytest_arena.router.backends.openai import OpenAIBackend

        return OpenAIBackend(spec, http_options(settings))
    if spec.kind == "anthropic":
        from pytest_arena.router.backends.anthropic import AnthropicBackend

        return AnthropicBackend(spec, http_options(settings))
    raise ConfigError(f"backend {spec.label!r}: unknown kind {spec.kind!r} "
                      "(expected ollama, openai, anthropic, embedded or scripted)")
